"""``FitDiagnostics``: the typed record of how a linear-Gaussian population was fitted, stored as the
``diagnostics`` object of the population file's metadata (``docs/formats.md``).

A field is ``None`` when the fit that made the population does not report it (a differentially private fit
reports no log likelihood; only a fit from an event log says where its item features came from). Keys a file
holds that this release does not know are kept in ``extra``, and the keys' order as read is kept, so a file
read and written again holds the same bytes.

>>> from warmstart.families.linear.diagnostics import FitDiagnostics
>>> d = FitDiagnostics.from_dict({"selected_k": 3, "n_iter": 12, "converged": True})
>>> d.selected_k, d.loglik
(3, None)
>>> d.replace(item_features={"source": "log"}).to_dict()
{'selected_k': 3, 'n_iter': 12, 'converged': True, 'item_features': {'source': 'log'}}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from dataclasses import replace as _replace
from typing import Any


@dataclass(frozen=True, kw_only=True)
class FitDiagnostics:
    """How a population was fitted; every field optional (see the module docstring).

    >>> d = FitDiagnostics.from_dict({"selected_k": 3, "converged": True, "from_the_future": 1})
    >>> d.selected_k, d.loglik, d.extra                       # unknown keys are kept, not dropped
    (3, None, {'from_the_future': 1})
    >>> d.replace(n_iter=12).to_dict()                        # the keys in the order read, new ones last
    {'selected_k': 3, 'converged': True, 'from_the_future': 1, 'n_iter': 12}
    """

    n_users: int | None = None
    n_events: float | None = None
    dim: int | None = None
    selected_k: int | None = None
    selection: str | None = None  # "bic", "heldout", "fixed" or "fixed (private)"
    k_path: list[dict[str, Any]] | None = None  # one entry per K tried: K, loglik, bic, n_iter, converged, ...
    moves: list[dict[str, Any]] | None = None  # split and merge moves tried and kept
    loglik: float | None = None
    bic: float | None = None
    n_iter: int | None = None
    converged: bool | None = None
    config: dict[str, Any] | None = None  # the FitConfig (or DPConfig) the fit ran with
    init_sample: dict[str, Any] | None = None  # the fit on a sample that EM on all users started from
    dp: dict[str, Any] | None = None  # the privacy guarantee and how it was met
    n_users_noisy: float | None = None
    init: dict[str, Any] | None = None  # the private fit's initialisation
    incremental: dict[str, Any] | None = None  # the population extended with new users, and from which
    item_features: dict[str, Any] | None = None  # where a fit from an event log took its item features
    extra: dict[str, Any] = field(default_factory=dict)  # keys this release does not know, as read
    order: tuple[str, ...] = ()  # the keys in the order they were given

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> FitDiagnostics:
        """The record of a ``diagnostics`` mapping (a fit's, or a file's metadata)."""
        if not isinstance(d, Mapping):
            raise ValueError(f"diagnostics: expected a JSON object, got {type(d).__name__}")  # noqa: TRY004 - bad data
        known = {f.name for f in fields(FitDiagnostics)} - {"extra", "order"}
        values = {k: v for k, v in d.items() if k in known}
        return FitDiagnostics(**values, extra={k: v for k, v in d.items() if k not in known},
                              order=tuple(str(k) for k in d))

    def to_dict(self) -> dict[str, Any]:
        """The mapping stored in the file: the keys given, in their order, then any set since."""
        set_fields = {f.name: getattr(self, f.name) for f in fields(self)
                      if f.name not in ("extra", "order") and getattr(self, f.name) is not None}
        values = {**set_fields, **self.extra}
        ordered = [k for k in self.order if k in values]
        return {k: values[k] for k in ordered + [k for k in values if k not in self.order]}

    def replace(self, **changes: Any) -> FitDiagnostics:
        """A copy with ``changes`` (known fields), keys new to the record going last."""
        order = self.order + tuple(k for k in changes if k not in self.order)
        return _replace(self, **changes, order=order)
