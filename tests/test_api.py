"""The public API: ``import warmstart as ws`` names the core path, imports it on first use, and every name
resolves to the object its module defines."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support.families import bernoulli  # noqa: F401 - registers the tiny third family
from support.families.bernoulli import simulate

import warmstart as ws


def test_every_public_name_resolves_to_its_home():
    for name in ws.__all__:
        value = getattr(ws, name)
        if name in ws._API:
            assert value is getattr(importlib.import_module(ws._API[name]), name)
    assert set(ws.__all__) <= set(dir(ws))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        ws.nope  # noqa: B018


def test_type_checkers_see_the_same_names():
    """The ``TYPE_CHECKING`` imports (what type checkers and the layering test read) match the lazy table."""
    tree = ast.parse(Path(ws.__file__).read_text())
    block = next(n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING")
    seen = {(node.module, a.name) for node in block.body if isinstance(node, ast.ImportFrom) for a in node.names}
    assert seen == {(module, name) for name, module in ws._API.items()} | {("warmstart", "sim")}


def test_import_is_instant():
    code = "import sys, warmstart; print(sorted(m for m in sys.modules if m.startswith('warmstart.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['warmstart._version']"


def test_the_dimension_comes_from_the_population(population):
    policy = ws.make_policy("mixture_ids", population, seed=0)
    assert policy.dim == population.dim == 10
    with pytest.raises(ValueError, match="dim: expected a positive dimension, or a population or a training log"):
        ws.make_policy("random")
    with pytest.raises(ValueError, match="context.population: expected dimension 4, got 10"):
        ws.make_policy("mixture_ids", population, dim=4)


def test_saved_population_reads_back_the_users_state(population, tmp_path):
    policy = ws.make_policy("mixture_ids", population, seed=0)
    state = policy.new_user()
    X = np.random.default_rng(0).normal(size=(5, 10))
    policy.update(state, X, 2, 0.7)
    again = ws.make_policy("mixture_ids", ws.load_population(population.save(tmp_path / "p.npz")), seed=0)
    np.testing.assert_allclose(again.state_from_bytes(policy.state_to_bytes(state)).type_probs(), state.type_probs())


def test_fit_population_of_another_family():
    log, _ = simulate(np.array([[0.9, 0.1], [0.1, 0.9]]), np.array([0.5, 0.5]),
                      n_users=200, n_events=20, seed=0)
    population = ws.fit_population(log, family="test_bernoulli", k_range=(1, 3), seed=0)
    assert isinstance(population, ws.TypePopulation) and population.n_types == 2
    with pytest.raises(ValueError, match="config: FitConfig sets the linear family's fit"):
        ws.fit_population(log, ws.FitConfig(), family="test_bernoulli")
    with pytest.raises(ValueError, match="options: the linear family takes its settings in config"):
        ws.fit_population(log, n_types=2)
