"""``RayBackend(address=...)``: a fit on a Ray cluster that was already running (started here on 127.0.0.1 by Ray's
own ``Cluster`` helper, stopped by this test); the backend disconnects on close and leaves the cluster up."""

import numpy as np
import ray
from ray.cluster_utils import Cluster

from warmstart.families.linear.backend import RayBackend, _loopback_node
from warmstart.families.linear.fit import FitConfig, fit_population
from warmstart.sim.linear_types import LinearTypesConfig, LinearTypesPopulation, logged_summary


def test_a_fit_on_a_running_cluster_equals_in_process():
    assert not ray.is_initialized()
    with _loopback_node(ray):
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "include_dashboard": False})
    try:
        assert cluster.address.startswith("127.0.0.1:")
        summary = logged_summary(LinearTypesPopulation(LinearTypesConfig()), 2000, 10, seed=1)
        cfg = FitConfig(n_types=3, n_init=1, split_merge=False, chunk=500, max_iter=8, select_max_iter=8)  # equal pass by pass
        with RayBackend(address=cluster.address) as backend:
            assert backend.num_cpus == 2
            on_cluster = fit_population(summary, cfg, backend=backend)
        assert not ray.is_initialized()  # disconnected; the cluster is still running
        assert cluster.head_node.all_processes  # its processes, ours to stop below
        local = fit_population(summary, cfg)
        np.testing.assert_array_equal(on_cluster.components.cov, local.components.cov)
        np.testing.assert_array_equal(on_cluster.weights, local.weights)
    finally:
        cluster.shutdown()
