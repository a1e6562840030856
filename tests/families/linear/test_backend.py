"""The fit's E-step backends: in process (a summary in memory, or shards streamed one at a time) and on a local
Ray with 2 CPUs. Every backend cuts the users into the same chunks and adds them in the same order, so the
populations are equal, not merely close. The fits here stop after a few EM passes (``max_iter``,
``select_max_iter``): the populations must be equal after every pass, converged or not."""

import itertools

import numpy as np
import pytest

from warmstart.families.linear.backend import InProcess, _piece_bounds, make_backend
from warmstart.families.linear.fit import FitConfig, _pass, fit_population
from warmstart.families.linear.shards import write_summary_shards
from warmstart.sim.linear_types import LinearTypesConfig, LinearTypesPopulation, logged_summary

FEW_PASSES = {"max_iter": 8, "select_max_iter": 8}  # EM passes for the fixed K and for each K tried


@pytest.fixture(scope="module")
def summary():
    return logged_summary(LinearTypesPopulation(LinearTypesConfig()), 3000, 12, seed=4)


@pytest.fixture(scope="module")
def ray_backend():
    import ray  # the scale extra: `make test` installs it (a missing extra fails here, it does not skip)

    from warmstart.families.linear.backend import RayBackend

    backend = RayBackend(num_cpus=2, object_store_memory=300 * 1024**2)
    assert backend.started and backend.num_cpus == 2
    yield backend
    backend.close()
    assert not ray.is_initialized()


def _assert_same(a, b):
    assert a.n_types == b.n_types
    for x, y in ((a.components.mu, b.components.mu), (a.components.cov, b.components.cov),
                 (a.components.noise_var, b.components.noise_var), (a.weights, b.weights)):
        np.testing.assert_array_equal(x, y)


def test_pieces_are_runs_of_whole_chunks():
    assert _piece_bounds(10_000, 2000, 4) == [(0, 2000), (2000, 4000), (4000, 8000), (8000, 10_000)]
    assert _piece_bounds(2500, 2000, 8) == [(0, 2000), (2000, 2500)]
    bounds = _piece_bounds(123_457, 1000, 7)
    assert bounds[0][0] == 0 and bounds[-1][1] == 123_457 and len(bounds) == 7
    assert all(a % 1000 == 0 for a, _ in bounds) and all(b == c for (_, b), (c, _) in itertools.pairwise(bounds))


def test_streaming_shards_in_process_equals_the_summary_in_memory(tmp_path, summary):
    shards = write_summary_shards(tmp_path / "s", summary, shard_users=1000)
    cfg = FitConfig(n_types=4, n_init=1, split_merge=False, chunk=500, init_sample=800, seed=2, **FEW_PASSES)
    _assert_same(fit_population(shards, cfg), fit_population(summary, cfg))
    # without a sample the shards are read whole, and the fit is the in-memory one
    cfg = FitConfig(n_types=3, n_init=1, chunk=500, seed=2, split_merge=False, **FEW_PASSES)
    _assert_same(fit_population(shards, cfg, backend=InProcess()), fit_population(summary, cfg))


def test_ray_gives_the_same_population_as_in_process(ray_backend, summary, tmp_path):
    import ray

    assert {n["NodeManagerAddress"] for n in ray.nodes()} == {"127.0.0.1"}  # the local Ray is loopback only
    # K chosen by BIC with split/merge moves: every pass of the whole fit runs on Ray
    cfg = FitConfig(k_range=(2, 3), n_init=1, chunk=400, seed=1, max_iter=10, select_max_iter=8)
    some = summary[:800]
    on_ray = fit_population(some, cfg, backend=ray_backend)
    assert on_ray.diagnostics.moves  # split/merge and split moves ran, each pass on Ray
    _assert_same(on_ray, fit_population(some, cfg))
    # shards loaded by the workers, the sample put in pieces, EM over all users on the shards
    shards = write_summary_shards(tmp_path / "s", summary, shard_users=800)
    cfg = FitConfig(n_types=6, n_init=1, split_merge=False, chunk=400, init_sample=1200, seed=3, **FEW_PASSES)
    sharded = fit_population(shards, cfg, backend=ray_backend)
    _assert_same(sharded, fit_population(summary, cfg))
    assert sharded.diagnostics.n_users == 3000 and sharded.diagnostics.init_sample["n_users"] == 1200


def test_ray_responsibilities_and_sums_equal_in_process(ray_backend, summary):
    pop = fit_population(summary, FitConfig(n_types=3, n_init=1, split_merge=False, chunk=700, **FEW_PASSES))
    comps, w = pop.components, pop.weights
    ll_a, resp_a = _pass(summary, comps, w, 700, moments=False, backend=ray_backend)
    ll_b, resp_b = _pass(summary, comps, w, 700, moments=False)
    assert ll_a == ll_b
    np.testing.assert_array_equal(resp_a, resp_b)
    _, sums_a = _pass(summary, comps, w, 700, backend=ray_backend)
    _, sums_b = _pass(summary, comps, w, 700)
    for x, y in zip(sums_a, sums_b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_backends_by_name():
    assert isinstance(make_backend("inprocess"), InProcess)
    with pytest.raises(ValueError, match="backend: expected one of"):
        make_backend("spark")
    with pytest.raises(ValueError, match="takes no options"):
        make_backend("inprocess", address="x:1")
