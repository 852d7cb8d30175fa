"""seqinfer.export: checkpoint -> TorchScript and ONNX, verified against PyTorch."""
