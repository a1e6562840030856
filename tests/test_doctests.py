"""Every example in the package's docstrings runs as written (like river's docstring tests), starting with the
core path in ``warmstart`` and ``warmstart.api``."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import warmstart

MODULES = sorted(m.name for m in pkgutil.walk_packages(warmstart.__path__, "warmstart.")
                 if not m.name.startswith("warmstart.store.migrations"))


def _with_examples() -> list[str]:
    """The modules with an example that runs (``warmstart.client``'s need a server and are marked to skip)."""
    out = []
    for name in ["warmstart", *MODULES]:
        spec = importlib.util.find_spec(name)
        lines = Path(spec.origin).read_text().splitlines() if spec is not None and spec.origin else []
        if any(">>>" in line and "doctest: +SKIP" not in line for line in lines):
            out.append(name)
    return out


@pytest.mark.parametrize("name", _with_examples())
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(importlib.import_module(name), optionflags=flags)
    assert result.attempted > 0 and result.failed == 0


def test_the_core_path_has_examples():
    from warmstart import api

    for fn in (api.fit_population, api.load_population, api.make_policy):
        assert ">>>" in (fn.__doc__ or ""), f"{fn.__name__} has no example"
