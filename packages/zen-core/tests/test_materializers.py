"""Materializers are chosen by the value's type and read back what they wrote."""

from __future__ import annotations

import io
import logging
from typing import Any

import pytest
from pydantic import BaseModel

from zen_core.plugins import materializer_registry


class Point(BaseModel):
    x: int
    y: int


class Opaque:
    def __init__(self, v: int) -> None:
        self.v = v


def roundtrip(value: Any) -> tuple[str, Any]:
    m = materializer_registry().for_value(value)
    buf = io.BytesIO()
    m.save(value, buf)
    buf.seek(0)
    return m.id, materializer_registry().by_id(m.id).load(buf, Any)


@pytest.mark.parametrize("value", [3, 2.5, "s", True, None, [1, 2], {"a": [1]}, (1, "x")])
def test_builtins_use_json(value: Any) -> None:
    mid, back = roundtrip(value)
    assert mid == "zen.json"
    assert back == value and type(back) is type(value)


def test_bytes_pydantic_and_pickle_fallback(caplog: pytest.LogCaptureFixture) -> None:
    assert roundtrip(b"\x00\x01" * 10) == ("zen.bytes", b"\x00\x01" * 10)
    mid, back = roundtrip(Point(x=1, y=2))
    assert mid == "zen.pydantic" and back == Point(x=1, y=2)
    with caplog.at_level(logging.WARNING, logger="zen.materializers"):
        mid, back = roundtrip(Opaque(7))
    assert mid == "zen.pickle" and back.v == 7
    assert "saved with pickle" in caplog.text and "Opaque" in caplog.text


def test_list_of_objects_falls_back_to_pickle() -> None:
    mid, back = roundtrip([Opaque(1)])
    assert mid == "zen.pickle" and back[0].v == 1


def test_numpy_and_pandas() -> None:
    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")
    mid, back = roundtrip(np.arange(6).reshape(2, 3))
    assert mid == "zen.numpy" and (back == np.arange(6).reshape(2, 3)).all()
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    mid, back = roundtrip(frame)
    assert mid == "zen.pandas" and back.equals(frame)


def test_unknown_materializer_id_says_what_to_install() -> None:
    with pytest.raises(LookupError, match=r"materializer 'acme\.tensor' is not installed"):
        materializer_registry().by_id("acme.tensor")
