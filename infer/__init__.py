"""seqinfer.infer: run exported seqinfer models with onnxruntime. Never imports torch."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("seqinfer")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"
