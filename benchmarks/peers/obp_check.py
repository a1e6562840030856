"""Cross-check ``warmstart.ope`` against the Open Bandit Pipeline (obp) on identical inputs.

obp's estimators import torch, so this runs in a throwaway virtual environment, not in warmstart's::

    python3 -m venv /tmp/obpvenv
    /tmp/obpvenv/bin/pip install numpy scipy pandas scikit-learn matplotlib seaborn tqdm pyyaml \\
        mypy-extensions pyarrow
    /tmp/obpvenv/bin/pip install torch==2.13.0      # the local CPU wheel
    /tmp/obpvenv/bin/pip install --no-deps obp      # 0.4.1 on Python 3.11 (0.5.x is for Python < 3.11)
    /tmp/obpvenv/bin/python benchmarks/peers/obp_check.py

or ``make obp-venv`` (``.venv-obp``: ``make test`` builds it and ``tests/test_obp_check.py`` runs this in it).
warmstart is imported from this checkout's ``src/``. Checks, each printed with its largest absolute difference:

1. the ZOZOTOWN BTS prior transcribed in ``warmstart.ope.obd`` equals obp's ``prior_bts.yaml`` (exact);
2. ``load_obd`` gives the arrays of obp's ``OpenBanditDataset`` (action, position, reward, pscore);
3. ``bts_action_dist`` against obp's ``BernoulliTS(is_zozotown_prior=True).compute_batch_action_dist``
   (both Monte Carlo, different generators: compared with the Monte Carlo standard error);
4. IPS, SNIPS, DM and DR on the same arrays (the OBD random campaign with warmstart's BTS ``action_dist`` and
   click model, and a synthetic log with non-uniform propensities): must agree to 1e-6;
5. the bootstrap intervals of both (different generators: reported, not required to agree);
6. the generic log path (``warmstart ope --log``): a synthetic log written as CSV (named actions, positions,
   ``eval_prob_*`` and ``q_*`` columns) and as CSV plus an ``.npz`` action_dist (integer actions, positions,
   warmstart's cross-fitted mean reward model), read by ``warmstart.ope.logs.load_ope_log`` and evaluated by
   ``warmstart.ope.diagnostics.evaluate_log``, against obp on the arrays the files were written from: 1e-6.
Exits non-zero when check 1, 2, 4 or 6 fails. ``--json FILE`` also writes the results as JSON.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from obp.dataset import OpenBanditDataset
from obp.ope import (
    DirectMethod,
    DoublyRobust,
    InverseProbabilityWeighting,
    SelfNormalizedInverseProbabilityWeighting,
)
from obp.policy import BernoulliTS
from obp.policy.contextfree import production_prior_for_bts

from warmstart.ope import OPEResult, bootstrap_ci, bts_action_dist, click_model, estimate_all, load_obd
from warmstart.ope.diagnostics import evaluate_log
from warmstart.ope.logs import load_ope_log
from warmstart.ope.obd import ZOZOTOWN_PRIOR_ALPHA, ZOZOTOWN_PRIOR_BETA, obd_root
from warmstart.ope.reward_models import fit_reward_model

TOL = 1e-6


def obp_estimates(reward: np.ndarray, action: np.ndarray, position: np.ndarray, pscore: np.ndarray,
                  action_dist: np.ndarray, q_hat: np.ndarray) -> dict[str, float]:
    kw = {"reward": reward, "action": action, "position": position, "pscore": pscore, "action_dist": action_dist}
    return {
        "ips": float(InverseProbabilityWeighting().estimate_policy_value(**kw)),
        "snips": float(SelfNormalizedInverseProbabilityWeighting().estimate_policy_value(**kw)),
        "dm": float(DirectMethod().estimate_policy_value(position=position, action_dist=action_dist,
                                                         estimated_rewards_by_reg_model=q_hat)),
        "dr": float(DoublyRobust().estimate_policy_value(**kw, estimated_rewards_by_reg_model=q_hat)),
    }


def compare(label: str, reward: np.ndarray, action: np.ndarray, position: np.ndarray, pscore: np.ndarray,
            action_dist: np.ndarray, q_hat: np.ndarray, n_boot: int, seed: int, results: dict[str, dict],
            ours: dict[str, OPEResult] | None = None) -> float:
    """obp's IPS, SNIPS, DM and DR on the arrays given, against ``ours`` (default: ``estimate_all`` on the
    same arrays); the differences go into ``results[label]``."""
    if ours is None:
        ours = estimate_all(reward, action, pscore, action_dist, position=position, estimated_rewards=q_hat,
                            n_boot=n_boot, seed=seed)
    theirs = obp_estimates(reward, action, position, pscore, action_dist, q_hat)
    results[label] = {"n": int(reward.shape[0]), "warmstart": {k: r.estimate for k, r in ours.items()},
                      "obp": theirs, "abs_diff": {k: abs(r.estimate - theirs[k]) for k, r in ours.items()}}
    print(f"\n[{label}] n={reward.shape[0]}")
    print(f"  {'estimator':<9} {'warmstart':>14} {'obp':>14} {'abs diff':>10}   warmstart CI / obp CI")
    worst = 0.0
    obp_ci_cls = {"ips": InverseProbabilityWeighting, "snips": SelfNormalizedInverseProbabilityWeighting,
                  "dr": DoublyRobust}
    for name, res in ours.items():
        d = abs(res.estimate - theirs[name])
        worst = max(worst, d)
        ci = ""
        if name in obp_ci_cls:
            o = obp_ci_cls[name]().estimate_interval(
                reward=reward, action=action, position=position, pscore=pscore, action_dist=action_dist,
                estimated_rewards_by_reg_model=q_hat, n_bootstrap_samples=n_boot, random_state=seed)
            lo, hi = (v for k, v in o.items() if "CI" in k)
            ci = f"[{res.ci95[0]:.5f}, {res.ci95[1]:.5f}] / [{lo:.5f}, {hi:.5f}]"
        print(f"  {name:<9} {res.estimate:>14.8f} {theirs[name]:>14.8f} {d:>10.1e}   {ci}")
    print(f"  max |warmstart - obp| = {worst:.2e}  ({'OK' if worst <= TOL else 'FAIL'}, tolerance {TOL:g})")
    results[label]["max_abs_diff"] = worst
    return worst


def synthetic_bandit(seed: int, n: int = 2000, k: int = 7, ll: int = 2) -> dict[str, np.ndarray]:
    """A log with context-dependent, non-uniform propensities over ``k`` actions and ``ll`` positions."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, k, ll))
    beh = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    pos = rng.integers(0, ll, n)
    act = np.array([rng.choice(k, p=beh[i, :, pos[i]]) for i in range(n)])
    ev = rng.dirichlet(np.ones(k), size=(n, ll)).transpose(0, 2, 1)
    q = rng.random((n, k, ll))
    rew = rng.binomial(1, q[np.arange(n), act, pos]).astype(float)
    return {"reward": rew, "action": act, "position": pos, "pscore": beh[np.arange(n), act, pos],
            "action_dist": ev, "q": 0.5 * q + 0.25}


def write_csv(path: Path, columns: dict[str, object]) -> None:
    with open(path, "w", newline="") as fh:  # floats in shortest round-trip form: the file holds the arrays
        writer = csv.writer(fh)
        writer.writerow(list(columns))
        writer.writerows(zip(*(np.asarray(c).tolist() for c in columns.values())))


def check_generic_logs(seed: int, n_boot: int, results: dict[str, dict]) -> float:
    """Check 6: ``warmstart ope --log``'s reader and evaluation against obp on the arrays behind the files."""
    s = synthetic_bandit(seed + 1, n=3000, k=5, ll=3)
    n, k = s["action_dist"].shape[:2]
    rows = np.arange(n)
    names = np.array([f"item{a}" for a in range(k)])
    pi_logged = s["action_dist"][rows, :, s["position"]]  # the evaluation policy at each logged position
    q_logged = s["q"][rows, :, s["position"]]
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        # (a) named actions, eval_prob_* and q_* columns at the logged position; rows shuffled, `round` sorts
        perm = np.random.default_rng(seed).permutation(n)
        cols: dict[str, object] = {"round": perm, "action": names[s["action"][perm]],
                                   "position": s["position"][perm], "reward": s["reward"][perm],
                                   "propensity": s["pscore"][perm]}
        cols.update({f"eval_prob_{names[a]}": pi_logged[perm, a] for a in range(k)})
        cols.update({f"q_{names[a]}": q_logged[perm, a] for a in range(k)})
        write_csv(Path(tmp) / "named.csv", cols)
        log = load_ope_log(Path(tmp) / "named.csv")
        rep = evaluate_log(log, reward_model="columns", n_boot=n_boot, seed=seed)
        worst = max(worst, compare("generic log: CSV with eval_prob_* and q_* columns", s["reward"],
                                   s["action"], s["position"], s["pscore"], s["action_dist"], s["q"], n_boot,
                                   seed, results, ours=rep.estimates))
        # (b) integer actions, the evaluation policy as an .npz with a position axis, warmstart's mean model
        write_csv(Path(tmp) / "plain.csv", {"action": s["action"], "position": s["position"],
                                            "reward": s["reward"], "propensity": s["pscore"]})
        np.savez(Path(tmp) / "pi.npz", action_dist=s["action_dist"])
        log = load_ope_log(Path(tmp) / "plain.csv", action_dist=Path(tmp) / "pi.npz")
        rep = evaluate_log(log, reward_model="mean", n_boot=n_boot, seed=seed)
        q_mean = fit_reward_model(log, "mean", seed=seed).estimated_rewards
        worst = max(worst, compare("generic log: CSV + action_dist .npz, mean reward model", s["reward"],
                                   s["action"], s["position"], s["pscore"], s["action_dist"], q_mean, n_boot,
                                   seed, results, ours=rep.estimates))
    return worst


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--campaign", default="all", choices=("all", "men", "women"))
    ap.add_argument("--n-sim", type=int, default=100_000, help="Monte Carlo draws of the BTS action distribution")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--root", default=None, help="folder of open-bandit-dataset-small (default: warmstart's)")
    ap.add_argument("--json", default=None, help="also write the results (every difference) as JSON here")
    args = ap.parse_args(argv)
    import obp
    import torch

    print(f"obp {obp.__version__}, torch {torch.__version__}, numpy {np.__version__}, python {sys.version.split()[0]}")
    ok = True
    results: dict[str, dict] = {}

    # 1. prior
    c = args.campaign
    prior_diff = 0.0
    for camp in ("all", "men", "women"):
        for mine_p, key in ((ZOZOTOWN_PRIOR_ALPHA, "alpha"), (ZOZOTOWN_PRIOR_BETA, "beta")):
            a, b = np.asarray(mine_p[camp], dtype=float), np.asarray(production_prior_for_bts[camp][key])
            prior_diff = max(prior_diff, float(np.max(np.abs(a - b))) if a.shape == b.shape else np.inf)
    print(f"\n[1 prior] ZOZOTOWN BTS prior (all, men, women): max abs diff {prior_diff:g}")
    ok &= prior_diff == 0

    # 2. loader
    root = obd_root(args.root)
    ours = load_obd("random", c, root)
    # obp 0.4.1's feature pre-processing calls DataFrame.drop(col, 1), which pandas >= 2 rejects; the arrays
    # compared here come from its load_raw_data, so the feature step is skipped
    OpenBanditDataset.pre_process = lambda self: None  # type: ignore[method-assign]
    theirs = OpenBanditDataset(behavior_policy="random", campaign=c, data_path=root)
    same = {k: bool(np.array_equal(getattr(ours, k), getattr(theirs, k)))
            for k in ("action", "position", "reward", "pscore")}
    if not all(same.values()):  # obp's pandas sort is not stable: compare as multisets of rows
        key = lambda o: np.sort(np.rec.fromarrays([o.action, o.position, o.reward, o.pscore]))
        same = {"rows (as a multiset)": bool(np.array_equal(key(ours), key(theirs)))}
    same["n_actions"] = ours.n_actions == theirs.n_actions
    same["len_list"] = ours.len_list == theirs.len_list
    print(f"\n[2 loader] random/{c}: {same}")
    ok &= all(same.values())

    # 3. BTS action distribution
    t = time.perf_counter()
    mine = bts_action_dist(ours.n_actions, ours.len_list, 1, n_sim=args.n_sim, seed=args.seed, campaign=c)[0]
    t_mine = time.perf_counter() - t
    t = time.perf_counter()
    bts = BernoulliTS(n_actions=ours.n_actions, len_list=ours.len_list, is_zozotown_prior=True, campaign=c,
                      random_state=args.seed)
    ref = bts.compute_batch_action_dist(n_rounds=1, n_sim=args.n_sim)[0]
    t_obp = time.perf_counter() - t
    # standard error of the difference of two independent Monte Carlo frequencies
    p = (mine + ref) / 2
    se = np.sqrt(2 * np.maximum(p * (1 - p), 1.0 / args.n_sim) / args.n_sim)
    z = np.abs(mine - ref) / se
    print(f"\n[3 BTS action_dist] n_sim={args.n_sim}: max abs diff {np.max(np.abs(mine - ref)):.2e}, "
          f"max |diff|/s.e. {z.max():.2f} (about 3 expected for {z.size} cells); "
          f"warmstart {t_mine:.2f} s, obp {t_obp:.2f} s")

    # 4-5. estimators on identical inputs
    n = ours.n
    pi_e = np.tile(ref, (n, 1, 1))  # obp's own action_dist, so the estimators see exactly the same numbers
    q_hat = click_model(ours, seed=args.seed)
    worst = compare(f"OBD random/{c}, BTS (obp's action_dist)", ours.reward.astype(float), ours.action,
                    ours.position, ours.pscore, pi_e, q_hat, args.n_boot, args.seed, results)
    s = synthetic_bandit(args.seed)
    worst = max(worst, compare("synthetic, non-uniform propensities", s["reward"], s["action"], s["position"],
                               s["pscore"], s["action_dist"], s["q"], args.n_boot, args.seed, results))
    ok &= worst <= TOL

    # 6. the generic log path
    worst_logs = check_generic_logs(args.seed, args.n_boot, results)
    ok &= worst_logs <= TOL
    on = load_obd("bts", c, root).reward.astype(float)
    print(f"\nBTS campaign on-policy CTR {on.mean():.5f}, CI {bootstrap_ci(on, n_boot=args.n_boot, seed=args.seed)}")
    print("\nall checks passed" if ok else "\nSOME CHECKS FAILED")
    if args.json:
        doc = {"ok": bool(ok), "tolerance": TOL, "obp_version": obp.__version__,
               "prior_max_abs_diff": prior_diff, "loader_same": same, "estimators": results}
        Path(args.json).write_text(json.dumps(doc, indent=1, allow_nan=False))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
