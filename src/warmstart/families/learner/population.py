"""A population of learner types: per-type, per-skill knowledge-tracing parameters, their plain-word
description, and their stored format.

Persistence
-----------
``LearnerPopulation.save`` writes one ``.npz`` (read with ``allow_pickle=False``): a ``meta`` 0-d unicode
array holding JSON ``{"format": "warmstart.learner_population", "format_version": 1, "family": "learner",
"n_types", "n_skills", "skill_names", "fingerprint", "warmstart_version", "diagnostics"}`` and float64 arrays
``weights (K,)``, ``L0``, ``T``, ``F``, ``G``, ``S`` (each ``(K, n_skills)``), through
``warmstart._persist.NpzFormat``. Another format name, an unknown version, missing arrays, wrong dtypes or shapes,
non-finite values or values outside [0, 1], a fingerprint mismatch or a damaged zip raise
``LearnerPopulationFormatError``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from warmstart._io import jsonable
from warmstart._persist import Array, FormatError, NpzFormat
from warmstart._validate import check_finite
from warmstart.families.learner.diagnostics import LearnerFitDiagnostics

FORMAT_NAME = "warmstart.learner_population"
FORMAT_VERSION = 1
PARAMS = ("L0", "T", "F", "G", "S")


class LearnerPopulationFormatError(FormatError):
    """A learner population file that cannot be read: wrong format, unknown version or damaged.

    >>> from pathlib import Path
    >>> Path("junk.npz").write_bytes(b"junk")                   # 4 bytes, not an .npz archive
    4
    >>> LearnerPopulation.load("junk.npz")
    Traceback (most recent call last):
    ...
    warmstart.families.learner.population.LearnerPopulationFormatError: learner population file junk.npz: ...
    """


#: the learner population file (``warmstart._persist`` writes and checks it)
FORMAT = NpzFormat(FORMAT_NAME, FORMAT_VERSION, tuple(Array(name) for name in ("weights", *PARAMS)),
                   LearnerPopulationFormatError, "learner population file")


# ---------------------------------------------------------------------------------------------- population
@dataclass(frozen=True)
class TypeDescription:
    """Plain words for one type: an overall ``summary`` and the words for every skill.

    >>> import numpy as np
    >>> pop = LearnerPopulation(np.array([0.8, 0.2]), L0=np.full((2, 2), 0.1),   # 2 types, 2 skills:
    ...     T=np.array([[0.4, 0.4], [0.05, 0.05]]), F=np.zeros((2, 2)),         # fast and slow learners
    ...     G=np.full((2, 2), 0.2), S=np.full((2, 2), 0.1), skill_names=("add", "sub"))
    >>> slow = pop.describe()[1]                              # LearnerPopulation.describe makes them
    >>> slow.index, slow.weight, slow.summary, slow.skills
    (1, 0.2, 'slow learner', {'add': 'slow learner', 'sub': 'slow learner'})
    """

    index: int
    weight: float
    summary: str
    skills: dict[str, str]


@dataclass(frozen=True)
class LearnerPopulation:
    """K learner types: mixture ``weights (K,)`` and per-type, per-skill BKT parameters, each
    ``(K, n_skills)``.

    The weights are normalised to sum to 1; guess and slip must lie strictly inside (0, 1).

    >>> import numpy as np
    >>> pop = LearnerPopulation(np.array([0.8, 0.2]), L0=np.full((2, 2), 0.1),   # 2 types, 2 skills:
    ...     T=np.array([[0.4, 0.4], [0.05, 0.05]]), F=np.zeros((2, 2)),         # fast and slow learners
    ...     G=np.full((2, 2), 0.2), S=np.full((2, 2), 0.1), skill_names=("add", "sub"))
    >>> pop.n_types, pop.n_skills, pop.forgets, pop.weights.tolist()     # F = 0: no forgetting
    (2, 2, False, [0.8, 0.2])
    >>> L0, T, F, G, S = pop.tables()
    >>> T[:, 0].tolist(), pop.fingerprint()                   # learn rate of "add" per type; a hash
    ([0.4, 0.05], '00373b7e30dbade4')
    >>> back = LearnerPopulation.load(pop.save("types.npz"))   # save returns the path it wrote
    >>> back.skill_names, back.fingerprint() == pop.fingerprint()
    (('add', 'sub'), True)
    >>> LearnerPopulation(np.array([3.0, 1.0]), *pop.tables()).weights.tolist()  # weights normalised
    [0.75, 0.25]
    >>> LearnerPopulation(np.ones(2), pop.L0, pop.T, pop.F, np.zeros((2, 2)), pop.S)  # G = 0: impossible
    Traceback (most recent call last):
    ...
    ValueError: G: expected probabilities strictly inside (0, 1) so every response has positive ...
    """

    weights: np.ndarray
    L0: np.ndarray
    T: np.ndarray
    F: np.ndarray
    G: np.ndarray
    S: np.ndarray
    skill_names: tuple[str, ...] = ()
    diagnostics: LearnerFitDiagnostics = field(default_factory=LearnerFitDiagnostics)

    def __post_init__(self) -> None:
        if isinstance(self.diagnostics, Mapping):  # a fit's or a file's mapping: read into the typed record
            object.__setattr__(self, "diagnostics", LearnerFitDiagnostics.from_dict(self.diagnostics))
        w = np.asarray(self.weights, dtype=float)
        if w.ndim != 1 or w.size < 1:
            raise ValueError(f"weights: expected a non-empty 1-d array of type weights, got shape {w.shape}")
        if not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise ValueError(f"weights: expected positive finite type weights, got {w.tolist()}")
        object.__setattr__(self, "weights", w / w.sum())
        shape = None
        for name in PARAMS:
            arr = np.asarray(getattr(self, name), dtype=float)
            shape = shape or arr.shape
            if arr.ndim != 2 or arr.shape[0] != w.size or arr.shape != shape or arr.shape[1] < 1:
                raise ValueError(
                    f"{name}: expected shape ({w.size}, n_skills) like the other parameters, got {arr.shape}"
                )
            check_finite(name, arr)
            if np.any(arr < 0) or np.any(arr > 1):
                raise ValueError(f"{name}: expected probabilities in [0, 1], got values in "
                                 f"[{arr.min():.3g}, {arr.max():.3g}]")
            object.__setattr__(self, name, arr)
        for name in ("G", "S"):
            arr = getattr(self, name)
            if np.any(arr <= 0) or np.any(arr >= 1):
                raise ValueError(f"{name}: expected probabilities strictly inside (0, 1) so every response has "
                                 f"positive probability, got values in [{arr.min():.3g}, {arr.max():.3g}]")
        n_skills = self.T.shape[1]
        names = tuple(str(s) for s in self.skill_names) or tuple(f"skill {s}" for s in range(n_skills))
        if len(names) != n_skills:
            raise ValueError(f"skill_names: expected {n_skills} names, got {len(names)}")
        object.__setattr__(self, "skill_names", names)

    @property
    def n_types(self) -> int:
        return int(self.weights.shape[0])

    @property
    def n_skills(self) -> int:
        return int(self.T.shape[1])

    @property
    def forgets(self) -> bool:
        return bool(np.any(self.F > 0))

    @property
    def log_weights(self) -> np.ndarray:
        return np.log(self.weights)

    def tables(self) -> tuple[np.ndarray, ...]:
        """``(L0, T, F, G, S)``, each ``(K, n_skills)``."""
        return tuple(getattr(self, name) for name in PARAMS)

    def fingerprint(self) -> str:
        """Short hash of the parameters and skill names: beliefs remember which population made them."""
        h = hashlib.sha256()
        for arr in (self.weights, *self.tables()):
            h.update(np.ascontiguousarray(arr, dtype="<f8").tobytes())
        h.update(json.dumps(list(self.skill_names)).encode())
        return h.hexdigest()[:16]

    # ------------------------------------------------------------------ words
    def describe(self, ratio: float = 1.25) -> list[TypeDescription]:
        """Plain words per type and skill, by comparing each type to the across-type median of the same skill.

        A learn rate at least ``ratio`` times the median is "fast learner" (at most ``1 / ratio``: "slow
        learner"); slip gives "careless" / "careful", guess "good guesser" / "rarely guesses right", prior
        knowledge "knows it already" / "new to it", forget "forgetful". The summary keeps the words that hold
        on skills carrying at least half of the training responses (``diagnostics.skill_responses``; every
        skill counts the same when it is absent), so rarely practised skills, whose parameters stay near
        the prior, do not outvote the common ones. With one type everything is "typical".

        >>> import numpy as np
        >>> pop = LearnerPopulation(np.array([0.8, 0.2]), L0=np.full((2, 2), 0.1),   # 2 types, 2 skills:
        ...     T=np.array([[0.4, 0.4], [0.05, 0.05]]), F=np.zeros((2, 2)),         # fast and slow learners
        ...     G=np.full((2, 2), 0.2), S=np.full((2, 2), 0.1), skill_names=("add", "sub"))
        >>> [d.summary for d in pop.describe()]                 # learn rates 0.4 and 0.05 around their median
        ['fast learner', 'slow learner']
        >>> one = LearnerPopulation(np.ones(1), *(x[:1] for x in pop.tables()))
        >>> one.describe()[0].summary, one.describe()[0].skills   # nothing to compare with
        ('typical', {'skill 0': 'typical', 'skill 1': 'typical'})
        >>> pop.describe(ratio=1.0)
        Traceback (most recent call last):
        ...
        ValueError: ratio: expected a number above 1, got 1.0
        """
        if ratio <= 1:
            raise ValueError(f"ratio: expected a number above 1, got {ratio}")
        rules = [("T", "fast learner", "slow learner"), ("S", "careless", "careful"),
                 ("G", "good guesser", "rarely guesses right"), ("L0", "knows it already", "new to it"),
                 ("F", "forgetful", "")]
        words: list[list[list[str]]] = [[[] for _ in range(self.n_skills)] for _ in range(self.n_types)]
        counts: list[dict[str, float]] = [{} for _ in range(self.n_types)]
        responses = self.diagnostics.skill_responses
        volume = np.asarray(np.ones(self.n_skills) if responses is None else responses, dtype=float)
        if volume.shape != (self.n_skills,) or volume.sum() <= 0:
            volume = np.ones(self.n_skills)
        share = volume / volume.sum()
        for name, high, low in rules:
            arr = getattr(self, name)
            med = np.median(arr, axis=0)
            floor = 1e-3  # below this a rate is "zero" whatever the ratio (e.g. no forgetting)
            hi = (arr >= ratio * med) & (arr - med > floor)
            lo = (arr <= med / ratio) & (med - arr > floor)
            for k in range(self.n_types):
                for s in range(self.n_skills):
                    word = high if hi[k, s] else (low if lo[k, s] else "")
                    if word:
                        words[k][s].append(word)
                        counts[k][word] = counts[k].get(word, 0.0) + share[s]
        out = []
        for k in range(self.n_types):
            common = [w for w, c in counts[k].items() if c >= 0.5]
            summary = ", ".join(common) if common else "typical"
            skills = {self.skill_names[s]: (", ".join(words[k][s]) or "typical") for s in range(self.n_skills)}
            out.append(TypeDescription(k, float(self.weights[k]), summary, skills))
        return out

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the population to ``path`` (``.npz``) atomically: a temp file, then a rename."""
        meta = {
            "family": "learner",
            "n_types": self.n_types,
            "n_skills": self.n_skills,
            "skill_names": list(self.skill_names),
            "fingerprint": self.fingerprint(),
        }
        arrays = {"weights": self.weights, **{name: getattr(self, name) for name in PARAMS}}
        return FORMAT.save(path, arrays, meta, meta_tail={"diagnostics": jsonable(self.diagnostics.to_dict())})

    @staticmethod
    def load(path: str | os.PathLike[str]) -> LearnerPopulation:
        """Read a population written by ``save``; anything else raises ``LearnerPopulationFormatError``."""
        path = Path(path)
        meta, arrays = FORMAT.load(path)
        try:
            pop = _from_tables(arrays["weights"], [arrays[k] for k in PARAMS], meta.get("skill_names"),
                               meta.get("diagnostics") or {})
        except (ValueError, TypeError) as exc:
            raise FORMAT.fail(path, str(exc)) from exc
        if meta.get("fingerprint") != pop.fingerprint():
            raise FORMAT.fail(path, f"parameters do not match their fingerprint (file changed or damaged: "
                                    f"expected {meta.get('fingerprint')!r} as stored, got {pop.fingerprint()!r})")
        return pop


# ---------------------------------------------------------------------------------------------- input


def odds_scale(p: np.ndarray, m: np.ndarray | float) -> np.ndarray:
    """Multiply the odds of ``p`` by ``m`` (stays inside (0, 1); about ``m * p`` for a small ``p``).

    >>> import numpy as np
    >>> odds_scale(np.array([0.01, 0.5, 0.9]), 2.0).round(4).tolist()  # odds 1:1 become 2:1, so 0.5 -> 2/3
    [0.0198, 0.6667, 0.9474]
    """
    return m * p / (1.0 - p + m * p)


def _from_tables(weights: np.ndarray, tables: Sequence[np.ndarray], skill_names: Sequence[str] | None,
                 diagnostics: LearnerFitDiagnostics | Mapping[str, Any]) -> LearnerPopulation:
    L0, T, F, G, S = tables
    if not isinstance(diagnostics, LearnerFitDiagnostics):
        diagnostics = LearnerFitDiagnostics.from_dict(diagnostics)
    return LearnerPopulation(weights, L0, T, F, G, S, skill_names=tuple(skill_names or ()), diagnostics=diagnostics)
