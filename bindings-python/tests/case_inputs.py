"""The request and the expected result of a spec case, with generated inputs expanded.

The rule is spec/README.md's "Generated inputs"; the Rust runner (tests/src/cases.rs) follows the
same text.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any, Dict, Mapping, Optional, Union

PLACEHOLDER = re.compile(r"@\{([a-z0-9_]+)\}")
COUNTER = "@{i}"


def expand_repeat(spec: Mapping[str, Any]) -> str:
    """`times` copies of `text` joined by `separator`; `@{i}` in copy k becomes str(start + k)."""
    text: str = spec["text"]
    times: int = spec["times"]
    separator: str = spec.get("separator", "")
    start: int = spec.get("start", 0)
    if COUNTER not in text:
        # The same text every time: multiply rather than build a list of `times` strings.
        if times == 0:
            return ""
        return (text + separator) * (times - 1) + text
    parts = text.split(COUNTER)
    return separator.join(str(start + k).join(parts) for k in range(times))


def expand(generator: Mapping[str, Any]) -> str:
    """The template with every `@{name}` replaced by its repeat's expansion (not rescanned)."""
    repeat: Mapping[str, Any] = generator.get("repeat", {})
    if "i" in repeat:
        raise ValueError("`i` is the counter; a repeat may not be called `i`")
    pieces: Dict[str, str] = {}

    def piece(match: "re.Match[str]") -> str:
        name = match.group(1)
        if name not in repeat:
            raise ValueError(f"the template names `@{{{name}}}`, which `repeat` does not define")
        if name not in pieces:
            pieces[name] = expand_repeat(repeat[name])
        return pieces[name]

    return PLACEHOLDER.sub(piece, generator["template"])


def request(case: Mapping[str, Any]) -> Union[Any, str, bytes]:
    """The request as the case gives it: a JSON value (`input`), text (`input_text`), or bytes
    (`input_base64`, `input_gen`)."""
    given = [k for k in ("input", "input_text", "input_base64", "input_gen") if k in case]
    assert len(given) == 1, f"{case['id']}: exactly one input field, got {given}"
    if "input" in case:
        return case["input"]
    if "input_text" in case:
        text: str = case["input_text"]
        return text
    if "input_base64" in case:
        return base64.b64decode(case["input_base64"], validate=True)
    return expand(case["input_gen"]).encode("utf-8")


def request_bytes(case: Mapping[str, Any]) -> bytes:
    """The request as the bytes a runtime's JSON entry point receives."""
    value = request(case)
    if "input" in case:
        return json.dumps(value).encode()
    if isinstance(value, str):
        return value.encode()
    assert isinstance(value, bytes)
    return value


def expected_result(case: Mapping[str, Any]) -> Optional[Any]:
    """The expected result (`result`, or `result_gen` parsed), or None when an error is expected."""
    expect = case["expect"]
    if "result" in expect:
        return expect["result"]
    if "result_gen" in expect:
        return json.loads(expand(expect["result_gen"]))
    return None
