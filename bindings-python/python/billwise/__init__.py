"""billwise: the business rules of professional-services opportunity-to-cash.

Every operation takes a request (a ``dict`` or any ``Mapping``, a dataclass, a pydantic model, or
JSON ``str``/``bytes``) and returns plain ``dict``/``list`` values with ``decimal.Decimal`` for
money and quantities and ``datetime.date`` for dates. ``to_json`` gives any of them as canonical
JSON, byte for byte what every other billwise runtime produces.

    >>> import billwise
    >>> report = billwise.validate(document={"schema_version": 1, "kind": "work_log"})
    >>> report["valid"]
    True
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping, NamedTuple, cast

from billwise._billwise import (
    Engine,
    Store,
    _ERROR_TABLE,
    OPERATIONS,
    SCHEMA_VERSION,
    __version__,
    apply_change_order,
    check_activation,
    check_update,
    commit_invoice,
    describe_machines,
    engine_apply,
    engine_replay,
    golden_record,
    preview_invoice,
    reconcile,
    record_credit,
    resolve_rate,
    run,
    to_json,
    transition,
    validate,
    validate_batch,
)
from billwise._errors import (
    BillwiseError,
    IdempotencyConflictError,
    InputError,
    InternalError,
    LimitExceededError,
    RuleError,
    SchemaVersionError,
    StoreError,
    VersionConflictError,
)
from billwise.types import ErrorClass, ErrorCode

__all__ = [
    "__version__",
    "SCHEMA_VERSION",
    "OPERATIONS",
    "ERROR_CODES",
    "ErrorCodeInfo",
    "validate",
    "validate_batch",
    "preview_invoice",
    "commit_invoice",
    "record_credit",
    "transition",
    "describe_machines",
    "resolve_rate",
    "apply_change_order",
    "check_update",
    "golden_record",
    "reconcile",
    "check_activation",
    "engine_replay",
    "engine_apply",
    "Engine",
    "Store",
    "run",
    "to_json",
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


class ErrorCodeInfo(NamedTuple):
    """One row of the error-code table."""

    code: ErrorCode
    """The stable code."""
    error_class: ErrorClass
    """How it is surfaced (``validation`` codes appear as problems; the others raise)."""
    exception: str
    """The name of the exception raised with it (``InputError``, ...): the same in every runtime."""
    description: str
    """When the code is used."""


ERROR_CODES: Mapping[ErrorCode, ErrorCodeInfo] = MappingProxyType(
    {
        cast(ErrorCode, code): ErrorCodeInfo(
            cast(ErrorCode, code), cast(ErrorClass, error_class), exception, description
        )
        for code, error_class, exception, description in _ERROR_TABLE
    }
)
"""Every error and problem code, in the order of the core's table (read-only)."""
