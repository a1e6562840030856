"""The cold-start benchmark's simulator as a TOML file: ``LinearTypesConfig`` fields, and a drift schedule.

``warmstart bench coldstart --config FILE`` reads it and ``--write-config FILE`` writes it. The file::

    preset = "default"        # the preset the fields below start from (default or hard)
    dim = 10                  # any LinearTypesConfig field; fields not given keep the preset's value
    n_types = 8
    ...

    [drift]                   # optional: a drift schedule every new user meets (one of the two keys)
    switch_at = 100           # another type answers from step 101 on
    # misleading_start = 5    # or: another type answers the first 5 steps

``benchmarks/configs/coldstart-default.toml`` is the default preset written by ``--write-config``: the benchmark
run with it gives the same JSON as ``--preset default``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
from pathlib import Path
from typing import Any

from warmstart.sim.drift import DriftSpec
from warmstart.sim.linear_types import LinearTypesConfig

_FIELDS = {f.name: f for f in dataclasses.fields(LinearTypesConfig)}
_DRIFT_FIELDS = tuple(f.name for f in dataclasses.fields(DriftSpec))
#: what each field holds, by the type its default has (the annotations are strings)
_KINDS = {name: type(getattr(LinearTypesConfig(), name)) for name in _FIELDS}


def _value(where: str, name: str, value: Any) -> Any:
    kind = _KINDS.get(name, int)
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is str and isinstance(value, str):
        return value
    expected = {float: "a number", int: "an integer", str: "a string"}[kind]
    raise ValueError(f"{where}: {name}: expected {expected}, got {value!r}")


def parse_sim_config(doc: dict[str, Any], where: str = "config") -> tuple[LinearTypesConfig, DriftSpec | None]:
    """The simulator's configuration and drift schedule from a parsed TOML document (``where`` names it in
    errors). Unknown keys, values of the wrong type and values ``LinearTypesConfig`` refuses are errors that
    name the key."""
    doc = dict(doc)
    drift_doc = doc.pop("drift", None)
    unknown = sorted(set(doc) - set(_FIELDS))
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown}; expected LinearTypesConfig fields "
                         f"({', '.join(_FIELDS)}) and an optional [drift] table")
    fields = {name: _value(where, name, value) for name, value in doc.items()}
    preset = fields.pop("preset", "default")
    try:
        sim = LinearTypesConfig.preset_named(preset, **fields)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from exc
    drift = None
    if drift_doc is not None:
        if not isinstance(drift_doc, dict):
            raise ValueError(f"{where}: drift: expected a table ([drift] with switch_at or misleading_start), got "
                             f"{drift_doc!r}")
        unknown = sorted(set(drift_doc) - set(_DRIFT_FIELDS))
        if unknown:
            raise ValueError(f"{where}: [drift]: unknown keys {unknown}; expected one of {list(_DRIFT_FIELDS)}")
        try:
            drift = DriftSpec(**drift_doc)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from exc
    return sim, drift


def load_sim_config(path: str | Path) -> tuple[LinearTypesConfig, DriftSpec | None]:
    """Read a simulator TOML file (module docstring); errors name the file and the key."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--config: expected a TOML file of LinearTypesConfig fields, got {str(path)!r}, "
                                f"which is not a file")
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: expected TOML (LinearTypesConfig fields), got a file that does not parse: "
                         f"{exc}") from exc
    return parse_sim_config(doc, str(path))


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)  # the shortest text that reads back to the same float
    return json.dumps(str(value))  # a TOML basic string


def sim_config_toml(sim: LinearTypesConfig, drift: DriftSpec | None = None, *, comment: str = "") -> str:
    """The TOML text of ``sim`` and ``drift`` that ``load_sim_config`` reads back to equal values."""
    lines = [f"# {line}" for line in comment.splitlines()] if comment else []
    lines += ["# warmstart/LinearTypes-v0: LinearTypesConfig fields (warmstart bench coldstart --config FILE);",
              "# a field left out keeps the value of the preset named here", f"preset = {_toml(sim.preset)}"]
    lines += [f"{name} = {_toml(getattr(sim, name))}" for name in _FIELDS if name != "preset"]
    if drift is None:
        lines += ["", "# a drift schedule every new user meets: uncomment one key",
                  "# [drift]", "# switch_at = 100          # another type answers from step 101 on",
                  "# misleading_start = 5     # another type answers the first 5 steps"]
    else:
        lines += ["", "[drift]"] + [f"{k} = {v}" for k, v in drift.options().items()]
    return "\n".join(lines) + "\n"
