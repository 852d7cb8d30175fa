"""seqinfer's benchmark harness: `python -m bench.run --out bench/results` (what `make bench` runs)."""
