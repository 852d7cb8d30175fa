"""The model-file contract: metadata round trip and rejection of foreign files."""
import pytest

from seqinfer.infer.contract import META_PREFIX, ModelMeta
from seqinfer.infer.errors import ModelError


def test_meta_round_trip() -> None:
    meta = ModelMeta(seqinfer_version="1.2.3", kind="gru", window=80, horizon=3, features=1,
                     norm_mean=(0.5,), norm_std=(2.0,), parity={"max_abs": 1e-7})
    props = meta.to_props()
    assert all(k.startswith(META_PREFIX) and isinstance(v, str) for k, v in props.items())
    assert ModelMeta.from_props(props) == meta


def test_meta_missing_key_is_a_model_error() -> None:
    props = ModelMeta(seqinfer_version="1", kind="rnn", window=4, horizon=1, features=1,
                      norm_mean=(0.0,), norm_std=(1.0,)).to_props()
    del props[META_PREFIX + "window"]
    with pytest.raises(ModelError, match="not a seqinfer model"):
        ModelMeta.from_props(props, source="foo.onnx")
