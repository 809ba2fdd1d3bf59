"""The native module of billwise (built from ``bindings-python/src``). Import ``billwise`` instead."""

from typing import Any, Dict, Tuple, overload

from typing_extensions import Unpack

from billwise.types import JSON, Request, ValidateRequest, ValidateResponse

__version__: str
"""The version of billwise."""

SCHEMA_VERSION: int
"""The schema version this build reads and writes (always 1)."""

OPERATIONS: Tuple[str, ...]
"""The operation names ``run`` accepts."""

__all__ = [
    "validate",
    "run",
    "to_json",
    "_read_document",
    "_panic_for_tests",
    "_raise_for_tests",
    "__version__",
    "SCHEMA_VERSION",
    "OPERATIONS",
    "_ERROR_TABLE",
]

_ERROR_TABLE: Tuple[Tuple[str, str, str], ...]

@overload
def validate(request: Request, /) -> ValidateResponse:
    """Validates one document and reports every problem found.

    Pass the request as one argument (``{"document": ..., "kind"?: ..., "contract"?: ...}``) or
    its fields as keyword arguments: ``validate(document=contract)``. A document that reads but
    breaks rules gives ``valid: False`` and its problems; a document that cannot be read at all
    raises ``InputError`` (or a subclass).
    """
@overload
def validate(request: None = None, /, **fields: Unpack[ValidateRequest]) -> ValidateResponse: ...

def run(op: str, request: Request, /) -> str:
    """Runs operation ``op`` on a request and returns the response as canonical JSON text."""

def to_json(value: Any, /) -> str:
    """Canonical JSON of a value: keys sorted, no whitespace, ``Decimal`` as an exact decimal
    string, ``date`` as ``YYYY-MM-DD``. Equal to the bytes every billwise runtime produces."""

def _read_document(document: Request, /) -> Tuple[Dict[str, JSON], str]: ...
def _panic_for_tests() -> None: ...
def _raise_for_tests(code: str, /) -> None: ...
