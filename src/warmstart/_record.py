"""``OrderedRecord``: the base of the typed records stored as a JSON object in a file's metadata (how a population
was fitted). Known keys are typed fields; keys a file holds that this release does not know are kept in
``extra``, and the keys' order as read is kept, so a file read and written again holds the same bytes.

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True, kw_only=True)
... class Fit(OrderedRecord):
...     n_iter: int | None = None
...     loglik: float | None = None
>>> r = Fit.from_dict({"loglik": -3.5, "note": "kept", "n_iter": 4})
>>> r.n_iter, r.extra, r.to_dict()
(4, {'note': 'kept'}, {'loglik': -3.5, 'note': 'kept', 'n_iter': 4})
>>> r.replace(n_iter=5).to_dict()
{'loglik': -3.5, 'note': 'kept', 'n_iter': 5}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from dataclasses import replace as _replace
from typing import Any, Self


@dataclass(frozen=True, kw_only=True)
class OrderedRecord:
    """Typed fields (``None`` when not reported), plus ``extra`` (unknown keys as read) and ``order`` (the keys
    in the order they were given). Subclasses are frozen, keyword-only dataclasses that add fields."""

    extra: dict[str, Any] = field(default_factory=dict)
    order: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Self:
        """The record of a mapping (a fit's, or a file's metadata)."""
        if not isinstance(d, Mapping):
            raise ValueError(f"diagnostics: expected a JSON object, got {type(d).__name__}")  # noqa: TRY004 - bad data
        known = {f.name for f in fields(cls)} - {"extra", "order"}
        values = {k: v for k, v in d.items() if k in known}
        return cls(**values, extra={k: v for k, v in d.items() if k not in known}, order=tuple(str(k) for k in d))

    def to_dict(self) -> dict[str, Any]:
        """The mapping stored in the file: the keys given, in their order, then any set since."""
        set_fields = {f.name: getattr(self, f.name) for f in fields(self)
                      if f.name not in ("extra", "order") and getattr(self, f.name) is not None}
        values = {**set_fields, **self.extra}
        ordered = [k for k in self.order if k in values]
        return {k: values[k] for k in ordered + [k for k in values if k not in self.order]}

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes`` (known fields), keys new to the record going last."""
        order = self.order + tuple(k for k in changes if k not in self.order)
        return _replace(self, **changes, order=order)
