"""A fitted population: K user types plus a broad *novel* component, and its persistence.

File format (``.npz``, read with ``allow_pickle=False``; documented in ``docs/formats.md``):

- ``meta``: a 0-d unicode array holding JSON ``{"format": "warmstart.population", "format_version": 1,
  "family": "linear_gaussian", "dim", "n_types", "novel_index", "type_names", "diagnostics", ...}``
- ``weights (K+1,)``, ``mu (K+1, d)``, ``cov (K+1, d, d)``, ``noise_var (K+1,)``; the novel component is
  the last row.

Written and read through ``warmstart._persist.NpzFormat``: a file with another format name, an unknown version,
missing arrays, wrong dtypes or shapes, non-finite values, a fingerprint mismatch or a damaged zip is rejected with
a ``PopulationFormatError`` that says which.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from warmstart._io import atomic_write, jsonable
from warmstart._persist import Array, FormatError, NpzFormat
from warmstart.families.linear.diagnostics import FitDiagnostics
from warmstart.families.linear.model import GaussianTypes

FORMAT_NAME = "warmstart.population"
FORMAT_VERSION = 1


class PopulationFormatError(FormatError):
    """A population file that cannot be read: wrong format, unknown version or damaged.

    >>> Population.from_bytes(b"junk", source="junk.npz")
    Traceback (most recent call last):
    ...
    warmstart.families.linear.population.PopulationFormatError: population file junk.npz: not a readable ...
    """


#: the population file (``warmstart._persist`` writes and checks it)
FORMAT = NpzFormat(FORMAT_NAME, FORMAT_VERSION, (Array("weights"), Array("mu"), Array("cov"), Array("noise_var")),
                   PopulationFormatError, "population file")


@dataclass(frozen=True)
class Population:
    """K fitted types and the novel component (last), with mixture weights and how they were fitted
    (``FitDiagnostics``; a mapping given here is read into one).

    What each count counts:

    - ``n_types``: K, the fitted types, **not** counting the novel component (what ``FitConfig(n_types=)`` and
      the BIC choose, what reports call "types");
    - ``n_components``: K + 1, the rows of ``weights``, ``components.mu``, ``components.cov`` and
      ``components.noise_var`` (also ``components.n_components``), the novel component included;
    - ``novel_index``: K, the novel component's row.

    A belief's type probabilities have ``n_components`` entries.

    >>> import numpy as np
    >>> types = GaussianTypes(mu=np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]]),  # 2 types and the novel one
    ...                       cov=np.stack([0.1 * np.eye(2), 0.1 * np.eye(2), np.eye(2)]),
    ...                       noise_var=np.full(3, 0.25))
    >>> population = Population(types, weights=np.array([0.5, 0.45, 0.05]))
    >>> population.n_types, population.dim, population.type_names(), population.fingerprint()
    (2, 2, ['type 0', 'type 1', 'novel'], '151882a7b1d5c1e3')
    >>> Population.from_bytes(population.to_bytes()).fingerprint()
    '151882a7b1d5c1e3'
    >>> Population.load(population.save("population.npz")).weights.tolist()
    [0.5, 0.45, 0.05]
    """

    components: GaussianTypes
    weights: np.ndarray
    diagnostics: FitDiagnostics = field(default_factory=FitDiagnostics)
    family: str = "linear_gaussian"

    def __post_init__(self) -> None:
        if isinstance(self.diagnostics, Mapping):  # a fit's or a file's mapping: read into the typed record
            object.__setattr__(self, "diagnostics", FitDiagnostics.from_dict(self.diagnostics))
        k1, d = self.components.mu.shape
        if self.weights.shape != (k1,):
            raise ValueError(f"weights: expected shape ({k1},), got {self.weights.shape}")
        if not np.all(np.isfinite(self.weights)) or np.any(self.weights <= 0):
            raise ValueError("weights: expected positive finite mixture weights")
        if self.components.cov.shape != (k1, d, d) or self.components.noise_var.shape != (k1,):
            raise ValueError("components: mu, cov and noise_var disagree on the number of components")

    @property
    def dim(self) -> int:
        return self.components.dim

    @property
    def n_types(self) -> int:
        """Number of fitted types, not counting the novel component."""
        return self.components.n_components - 1

    @property
    def n_components(self) -> int:
        """Number of mixture components: the fitted types and the novel component."""
        return self.components.n_components

    @property
    def novel_index(self) -> int:
        """Row of the novel component (the last)."""
        return self.components.n_components - 1

    @cached_property
    def log_weights(self) -> np.ndarray:
        return np.log(self.weights / self.weights.sum())

    def type_names(self) -> list[str]:
        return [f"type {k}" for k in range(self.n_types)] + ["novel"]

    def fingerprint(self) -> str:
        """Short hash of the parameters: beliefs remember which population they were computed under."""
        h = hashlib.sha256()
        for arr in (self.weights, self.components.mu, self.components.cov, self.components.noise_var):
            h.update(np.ascontiguousarray(arr, dtype=np.float64).tobytes())
        return h.hexdigest()[:16]

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the population to ``path`` (``.npz``) atomically: a temp file then a rename."""
        return atomic_write(Path(path), self.to_bytes())

    def to_bytes(self) -> bytes:
        """The ``.npz`` file's bytes (what ``save`` writes; what a store keeps)."""
        meta = {
            "family": self.family,
            "dim": self.dim,
            "n_types": self.n_types,
            "novel_index": self.novel_index,
            "type_names": self.type_names(),
            "fingerprint": self.fingerprint(),
        }
        arrays = {"weights": self.weights, "mu": self.components.mu, "cov": self.components.cov,
                  "noise_var": self.components.noise_var}
        return FORMAT.to_bytes(arrays, meta, meta_tail={"diagnostics": jsonable(self.diagnostics.to_dict())})

    @staticmethod
    def load(path: str | os.PathLike[str]) -> Population:
        path = Path(path)
        if not path.is_file():
            raise PopulationFormatError(f"population file: expected an existing file, got {str(path)!r}")
        return Population.from_bytes(path.read_bytes(), source=str(path))

    @staticmethod
    def from_bytes(data: bytes, source: str = "bytes") -> Population:
        """Read what ``to_bytes`` wrote; ``PopulationFormatError`` (naming ``source``) for anything else."""
        meta, arrays = FORMAT.from_bytes(data, source)
        try:
            pop = Population(
                GaussianTypes(arrays["mu"], arrays["cov"], arrays["noise_var"]),
                arrays["weights"],
                diagnostics=FitDiagnostics.from_dict(meta.get("diagnostics", {})),
                family=meta.get("family", "linear_gaussian"),
            )
        except ValueError as exc:
            raise FORMAT.fail(source, str(exc)) from exc
        if meta.get("fingerprint") not in (None, pop.fingerprint()):
            raise FORMAT.fail(source, f"parameters do not match their fingerprint (expected "
                                      f"{meta.get('fingerprint')!r} as stored, got {pop.fingerprint()!r})")
        return pop
