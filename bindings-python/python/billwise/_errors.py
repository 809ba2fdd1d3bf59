"""The exceptions billwise raises.

Every error carries a stable ``code`` (see ``billwise.ERROR_CODES``), a lowercase ``message``, a
JSON-pointer ``path`` into the input (``""`` is the whole input) and machine-readable ``details``.
The class follows the code's class: catch ``InputError`` for anything wrong with what you passed,
``BillwiseError`` for everything.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Tuple, Type

from billwise.types import ErrorCode

__all__ = [
    "BillwiseError",
    "InputError",
    "SchemaVersionError",
    "LimitExceededError",
    "IdempotencyConflictError",
    "VersionConflictError",
    "RuleError",
    "StoreError",
    "InternalError",
]


class BillwiseError(Exception):
    """A request billwise could not evaluate."""

    code: ErrorCode
    """The stable code, e.g. ``"INPUT_UNKNOWN_FIELD"``."""
    message: str
    """A lowercase sentence; the offending input in backticks."""
    path: str
    """A JSON pointer into the input (``""`` is the whole input)."""
    details: Dict[str, Any]
    """Extra facts, e.g. ``{"limit": "max_depth", "max": 64}``."""

    def __init__(
        self,
        message: str,
        code: ErrorCode = "INTERNAL_ERROR",
        path: str = "",
        details: Optional[Mapping[str, Any]] = None,
    ) -> None:
        where = f" (at `{path}`)" if path else ""
        super().__init__(f"{code}: {message}{where}")
        self.code = code
        self.message = message
        self.path = path
        self.details = dict(details or {})

    def __reduce__(self) -> Tuple[Type[BillwiseError], Tuple[str, ErrorCode, str, Dict[str, Any]]]:
        return (type(self), (self.message, self.code, self.path, self.details))


class InputError(BillwiseError, ValueError):
    """The input could not be read as the request or document it claims to be."""


class SchemaVersionError(InputError):
    """The input carries a ``schema_version`` this build does not read."""


class LimitExceededError(InputError):
    """The input is larger, deeper or longer than the limits allow."""


class IdempotencyConflictError(BillwiseError):
    """An idempotency key was reused with a different payload."""


class VersionConflictError(BillwiseError):
    """An ``expected_version`` did not match."""


class RuleError(BillwiseError):
    """A rule refused the operation (e.g. an amount too large to compute exactly)."""


class StoreError(BillwiseError):
    """The store's database could not be reached, read or written, or holds records that disagree."""


class InternalError(BillwiseError, RuntimeError):
    """A defect in billwise itself (never the caller's fault); please report it."""
