"""seqinfer.trainer: fit RNN, LSTM and GRU forecasters in PyTorch."""
