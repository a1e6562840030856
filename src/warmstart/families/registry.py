"""The families by name, and what works the same for all of them: fit a population, load one from a file.

The built-in families register when this module imports them (one import per family below); a third-party
family registers itself with ``@register_family`` when its module is imported.

>>> from warmstart.families.registry import available_families
>>> "linear_gaussian" in available_families()
True
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from warmstart._persist import not_an_archive, unreadable_archive
from warmstart.families.generic import TypePopulation, TypePopulationFormatError, fit_types
from warmstart.families.learner import family as _learner  # noqa: F401 - importing registers the family
from warmstart.families.learner.population import FORMAT_NAME as LEARNER_FORMAT
from warmstart.families.learner.population import LearnerPopulation
from warmstart.families.linear import dynamic_family as _dynamics  # noqa: F401 - importing registers the family
from warmstart.families.linear import family as _linear  # noqa: F401 - importing registers the family
from warmstart.families.linear.population import Population, PopulationFormatError
from warmstart.families.logistic import family as _logistic  # noqa: F401 - importing registers the family
from warmstart.families.protocol import FAMILIES, Family

AnyPopulation = Population | LearnerPopulation | TypePopulation


def family(name: str) -> Family:
    """The registered family ``name``; a ``ValueError`` listing the registered ones for another name.

    >>> type(family("linear_gaussian")).__name__
    'LinearGaussian'
    >>> family("poisson")
    Traceback (most recent call last):
    ...
    ValueError: family: expected one of ..., got 'poisson'
    """
    return FAMILIES.get(name)()


def available_families() -> list[str]:
    """The names of the registered families, sorted.

    >>> names = available_families()
    >>> "linear_gaussian" in names, names == sorted(names)
    (True, True)
    """
    return sorted(FAMILIES.names())


def fit(name: str, stats: Any, **config: Any) -> Population | TypePopulation:
    """Fit a population of the family ``name`` to the users' statistics (``family(name).summarise(log)``): the
    family's own fit when it has one, else the generic EM with K chosen by BIC (``generic.fit_types``).

    >>> import warmstart as ws
    >>> truth = ws.sim.LinearTypesPopulation(ws.sim.LinearTypesConfig(dim=3, n_types=3, minority_share=0.3,
    ...                                                                 outlier_share=0.0))
    >>> stats = family("linear_gaussian").summarise(truth.logged(90, 20, seed=0))
    >>> population = fit("linear_gaussian", stats, n_types=3, split_merge=False)   # the linear family's own
    >>> type(population).__name__, population.n_types
    ('Population', 3)
    """
    fam = family(name)
    own = getattr(fam, "fit", None)
    return own(stats, **config) if callable(own) else fit_types(fam, stats, **config)


_LABEL, _EXPECTED = "warmstart population", "an .npz archive of a population (docs/formats.md)"


def _meta(data: bytes, source: str) -> tuple[dict[str, Any], list[str]]:
    """The file's ``meta`` and the names of its arrays."""
    if data[:2] != b"PK":
        raise PopulationFormatError(f"population file {source}: "
                                    f"{not_an_archive(_LABEL, _EXPECTED, bytes(data[:8]), len(data))}")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            if "meta" not in z.files:
                raise PopulationFormatError(f"population file {source}: expected a meta array, got {sorted(z.files)}")
            meta, files = json.loads(str(z["meta"])), list(z.files)
    except PopulationFormatError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError) as exc:
        raise PopulationFormatError(f"population file {source}: {unreadable_archive(_LABEL, _EXPECTED, exc)}"
                                    ) from exc
    if not isinstance(meta, dict):
        raise PopulationFormatError(f"population file {source}: expected a JSON object as meta, got {meta!r}")
    return meta, files


def population_from_bytes(data: bytes, source: str = "bytes") -> Population | TypePopulation:
    """A population from the bytes of its file (its ``meta`` names the format and family): the linear family's
    or a generic family's (a learner population is read from its file, ``load_population``).

    >>> import warmstart as ws
    >>> truth = ws.sim.LinearTypesPopulation(ws.sim.LinearTypesConfig(dim=3, n_types=3, minority_share=0.3,
    ...                                                                 outlier_share=0.0))
    >>> stats = family("linear_gaussian").summarise(truth.logged(90, 20, seed=0))
    >>> population = fit("linear_gaussian", stats, n_types=3, split_merge=False)
    >>> population_from_bytes(population.to_bytes()).fingerprint() == population.fingerprint()
    True
    >>> population_from_bytes(b"junk", source="upload")
    Traceback (most recent call last):
    ...
    warmstart.families.linear.population.PopulationFormatError: population file upload: not a readable ...
    """
    meta, files = _meta(data, source)
    if meta.get("format") == LEARNER_FORMAT:
        raise PopulationFormatError(f"population file {source}: a learner population; read it from its file with "
                                    "load_population(path)")
    generic = any(name.startswith("param_") for name in files)  # the generic EM's file, of any family
    if not generic and meta.get("family", "linear_gaussian") == "linear_gaussian":
        return Population.from_bytes(data, source=source)
    try:
        return TypePopulation.from_bytes(data, source=source)
    except TypePopulationFormatError as exc:
        raise PopulationFormatError(str(exc)) from exc


def load_population(path: str | os.PathLike[str]) -> AnyPopulation:
    """Read a population file of any family (``docs/formats.md``); a ``PopulationFormatError`` naming the file
    and what is wrong for anything else.

    >>> import warmstart as ws
    >>> truth = ws.sim.LinearTypesPopulation(ws.sim.LinearTypesConfig(dim=3, n_types=3, minority_share=0.3,
    ...                                                                 outlier_share=0.0))
    >>> stats = family("linear_gaussian").summarise(truth.logged(90, 20, seed=0))
    >>> path = fit("linear_gaussian", stats, n_types=3, split_merge=False).save("population.npz")
    >>> type(load_population(path)).__name__, load_population(path).n_types
    ('Population', 3)
    >>> load_population("missing.npz")
    Traceback (most recent call last):
    ...
    warmstart.families.linear.population.PopulationFormatError: population file: expected an existing ...
    """
    path = Path(path)
    if not path.is_file():
        raise PopulationFormatError(f"population file: expected an existing file, got {str(path)!r}")
    data = path.read_bytes()
    if _meta(data, str(path))[0].get("format") == LEARNER_FORMAT:
        return LearnerPopulation.load(path)
    return population_from_bytes(data, source=str(path))
