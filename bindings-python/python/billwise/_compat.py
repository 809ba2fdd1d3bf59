"""Shapes of earlier releases, kept working for one release with a ``DeprecationWarning``."""

from __future__ import annotations

import warnings
from typing import Any, Dict, Iterator


class ApplyBatchResult(Dict[str, Any]):
    """What ``Engine.apply_batch`` returns: ``{"outcomes": [...], "version": n}``, the shape every
    billwise runtime returns (Node's ``applyBatch`` too).

    Earlier releases returned the list of outcomes. Read as that list (iterated, indexed by
    position or slice, or measured with ``len``) the result still gives the outcomes, with a
    ``DeprecationWarning``; the next release returns a plain ``dict``. Everything a ``dict`` does
    by key (``result["outcomes"]``, ``keys()``, ``items()``, ``==``, ``json.dumps``) is a dict's.
    """

    def _legacy(self) -> Any:
        warnings.warn(
            "Engine.apply_batch returns {'outcomes': [...], 'version': n}, as every runtime does; "
            "read result['outcomes'] (reading the result as the list of outcomes is deprecated)",
            DeprecationWarning,
            stacklevel=3,
        )
        return dict.__getitem__(self, "outcomes")

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, (int, slice)):
            return self._legacy()[key]
        return dict.__getitem__(self, key)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._legacy())

    def __len__(self) -> int:
        return len(self._legacy())

    def __reduce__(self) -> Any:
        # A plain dict: the deprecated list reading does not travel.
        return (dict, (dict(self.items()),))
