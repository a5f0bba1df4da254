"""Hypothesis strategies for hostile server JSON, shared by the parser fuzz and the app's property tests."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st


def nested(depth: int, leaf: Any = "bottom", kind: str = "list") -> Any:
    value = leaf
    for _ in range(depth):
        value = [value] if kind == "list" else {"k": value}
    return value


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**300), max_value=10**300)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(["\x1b]52;c;aGk=\x07", "[/", "[link=http:", "\ud800", "finished", "error", "ÿ\x9b2J"])
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=8) | st.sampled_from(["k\udfff", "\x1b]52;"]), children, max_size=4)
    ),
    max_leaves=20,
)
# Deep enough to break pydantic's serializer (~255 levels) and the JSON parser (~1,000).
deep_values = st.builds(nested, st.integers(200, 600), json_values, st.sampled_from(["list", "dict"]))
any_value = json_values | deep_values
output_lists = st.lists(
    st.fixed_dictionaries({}, optional={"format": any_value, "s3Config": any_value, "extra": any_value}) | any_value,
    max_size=3,
)
outputs = st.dictionaries(
    st.sampled_from(["transcription", "summary", "soap", "concept", "diarization", "x\x1b"]),
    output_lists | any_value,
    max_size=4,
)
