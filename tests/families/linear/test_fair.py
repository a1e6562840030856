"""Fair types (``warmstart.families.linear.fair``): the balanced E-step against the form of a KL projection, the
leakage the fair fit leaves on held-out users of a planted type-attribute link, the record's round trip, and the
default fit unchanged."""

import numpy as np
import pytest

import warmstart as ws
from warmstart.data.events import events_from_log
from warmstart.families.linear.fair import FairAttribute, balance, mutual_information
from warmstart.families.linear.fit import FitConfig, fit_population, responsibilities
from warmstart.families.linear.population import Population
from warmstart.governance.audit import AuditLog
from warmstart.governance.leakage import leakage_audit


@pytest.fixture(scope="module")
def planted():
    """Four 3-d types; types 0 and 1 have the attribute with probability 0.9, types 2 and 3 with 0.1: a
    training log of 300 users, held-out users of 300 with the attribute drawn the same way."""
    truth = ws.sim.LinearTypesPopulation(ws.sim.LinearTypesConfig(dim=3, n_types=4, minority_share=0.0,
                                                                    outlier_share=0.0))

    def attribute(log, seed):
        p = np.where(log.users.type_id < 2, 0.9, 0.1)
        return np.where(np.random.default_rng(seed).random(p.shape[0]) < p, "yes", "no")

    train, test = truth.logged(300, 20, seed=0), truth.logged(300, 20, seed=2)
    return train, attribute(train, 1), test, attribute(test, 3)


def test_balance_is_a_kl_projection_onto_equal_group_shares():
    rng = np.random.default_rng(0)
    log_joint = rng.normal(scale=3.0, size=(40, 4))
    codes = rng.integers(0, 3, size=40)
    q, info = balance(log_joint, codes, 3)
    p = np.exp(log_joint - log_joint.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    assert info["max_log_gap"] < 1e-8
    for g in range(3):  # every group's shares are the overall shares of the plain responsibilities
        np.testing.assert_allclose(q[codes == g].mean(0), p.mean(0), atol=1e-8)
        # the KL projection's form: log q - log p = a tilt per (group, type) + a constant per user
        tilt = np.log(q[codes == g]) - np.log(p[codes == g])
        tilt -= tilt[:, :1]
        np.testing.assert_allclose(tilt, np.broadcast_to(tilt[0], tilt.shape), atol=1e-8)
    assert mutual_information(q, codes, 3) < 1e-12 < mutual_information(p, codes, 3)


def test_fair_fit_removes_the_planted_link_from_held_out_users(planted):
    train, attr, test, test_attr = planted
    cfg = FitConfig(n_types=3, n_init=1, split_merge=False)
    plain = fit_population(train.summary(), cfg)
    fair = fit_population(train.summary(), cfg, fair_attribute=FairAttribute("group", attr))
    audit = AuditLog(events_from_log(test), {"group": test_attr})
    aucs = [leakage_audit(audit, pop, "group", n_boot=10, n_perm=10).auc for pop in (plain, fair)]
    assert aucs[0] > 0.85 and aucs[1] < 0.65, aucs
    codes = (test_attr == "yes").astype(int)
    served = [mutual_information(responsibilities(test.summary(), pop), codes, 2) for pop in (plain, fair)]
    assert served[1] < served[0] / 5, served
    record = fair.diagnostics.fair
    assert record["attribute"] == "group" and record["levels"] == ["no", "yes"] and record["balanced_mi"] < 1e-8
    assert sum(record["group_sizes"]) == 300 and plain.diagnostics.fair is None
    # the record survives the population file; the file's other bytes are those of any population
    again = Population.from_bytes(fair.to_bytes())
    assert again.diagnostics.fair == record and again.to_bytes() == fair.to_bytes()


def test_fair_attribute_errors_name_the_attribute(planted):
    train, attr, _, _ = planted
    with pytest.raises(ValueError, match="fair_attribute 'group': expected one value per user \\(300\\), got 299"):
        fit_population(train.summary(), FitConfig(n_types=2), fair_attribute=FairAttribute("group", attr[:-1]))
    with pytest.raises(ValueError, match="fair_attribute 'age': expected a value for every user, got 1 missing"):
        FairAttribute("age", np.array([1.0, np.nan, 2.0]))
    with pytest.raises(ValueError, match="fair_attribute 'age': expected group labels"):
        FairAttribute("age", np.array([1.0, 1.5, 2.0]))
