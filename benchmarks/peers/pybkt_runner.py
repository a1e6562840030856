"""Fit pyBKT on a training CSV and predict a test CSV online; run by the pyBKT virtual environment's python.

pyBKT needs numpy < 2, so it cannot live in warmstart's environment: ``warmstart.peers.pybkt`` writes the
CSVs, runs this script in ``.venv-pybkt`` (``make pybkt-venv``) and reads back what it writes. The script
imports nothing from warmstart.

Input CSVs have the columns ``order_id, user_id, skill_name, correct`` (``order_id`` increasing within each
user). One standard BKT model (prior, learn, guess, slip and, with ``--forgets``, forget) is fitted per skill
by EM from ``--num-fits`` random starts, keeping the best likelihood. pyBKT's ``predict`` then runs the forward
filter of each test student's sequence on each skill: the probability given for a response uses only the
same student's earlier responses on that skill (``P(L_0)`` for the first), so the predictions are online.
A test response on a skill the training set never saw gets pyBKT's default, 0.5 (counted in the JSON).

Outputs: ``--predictions`` (CSV ``row, correct_prediction, state_prediction`` in the test file's row order)
and ``--info`` (JSON: settings, fit and predict seconds, counts, versions and the fitted parameters).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time


def _args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", required=True, help="training CSV (order_id, user_id, skill_name, correct)")
    ap.add_argument("--test", required=True, help="test CSV, same columns")
    ap.add_argument("--predictions", required=True, help="output CSV of test predictions")
    ap.add_argument("--info", required=True, help="output JSON of settings and timings")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--num-fits", type=int, default=5, help="EM restarts per skill (pyBKT's default: 5)")
    ap.add_argument("--forgets", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--parallel", action=argparse.BooleanOptionalAction, default=True,
                    help="pyBKT's multiprocessing E-step (one process per core)")
    return ap.parse_args(argv)


def _read(path: str, pd):
    df = pd.read_csv(path, dtype={"user_id": str, "skill_name": str}, keep_default_na=False)
    missing = {"order_id", "user_id", "skill_name", "correct"} - set(df.columns)
    if missing:
        raise SystemExit(f"{path}: expected columns order_id, user_id, skill_name, correct; "
                         f"missing {sorted(missing)}")
    return df[["order_id", "user_id", "skill_name", "correct"]].copy()


def _atomic_write(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    import numpy as np
    import pandas as pd
    import pyBKT
    from pyBKT.models import Model

    train, test = _read(args.train, pd), _read(args.test, pd)
    # pyBKT selects skills with a regular expression built from their names, so a name such as
    # "Order of Operations +,-,/,* () positive reals" would never match itself: fit on safe aliases instead
    names = sorted(set(train["skill_name"]) | set(test["skill_name"]))
    alias = {name: f"s{i}" for i, name in enumerate(names)}
    original = {a: n for n, a in alias.items()}
    train["skill_name"] = train["skill_name"].map(alias)
    test["skill_name"] = test["skill_name"].map(alias)
    test["_row"] = np.arange(len(test))

    model = Model(seed=args.seed, num_fits=args.num_fits, parallel=args.parallel)
    t0 = time.perf_counter()
    model.fit(data=train, forgets=args.forgets)
    fit_seconds = time.perf_counter() - t0

    fitted = set(model.fit_model)
    seen = test["skill_name"].isin(fitted).to_numpy()
    unseen = int((~seen).sum())
    correct_pred, state_pred = np.full(len(test), 0.5), np.full(len(test), 0.5)  # pyBKT's own default
    t0 = time.perf_counter()
    if seen.any():  # pyBKT raises when no test skill was fitted
        pred = model.predict(data=test[seen].copy())
        rows = pred["_row"].to_numpy()  # predict sorts by user: index by the test file's row
        if np.unique(rows).size != int(seen.sum()):
            raise SystemExit("pyBKT returned predictions that do not cover every test row once")
        correct_pred[rows] = pred["correct_predictions"].to_numpy()
        state_pred[rows] = pred["state_predictions"].to_numpy()
    predict_seconds = time.perf_counter() - t0

    lines = ["row,correct_prediction,state_prediction"]
    lines += [f"{r},{p:.10g},{s:.10g}" for r, (p, s) in enumerate(zip(correct_pred.tolist(), state_pred.tolist()))]
    _atomic_write(args.predictions, "\n".join(lines) + "\n")

    params: dict[str, dict[str, float]] = {}
    for skill in sorted(fitted, key=lambda a: int(a[1:])):
        m = model.fit_model[skill]
        params[original[skill]] = {
            "prior": float(m["prior"]), "learn": float(np.ravel(m["learns"])[0]),
            "forget": float(np.ravel(m["forgets"])[0]), "guess": float(np.ravel(m["guesses"])[0]),
            "slip": float(np.ravel(m["slips"])[0]),
        }
    info = {
        "peer": "pyBKT",
        "settings": {"seed": args.seed, "num_fits": args.num_fits, "forgets": args.forgets,
                     "parallel": args.parallel, "model": "standard BKT, one model per skill"},
        "fit_seconds": fit_seconds,
        "predict_seconds": predict_seconds,
        "n_train": len(train), "n_test": len(test),
        "n_train_users": int(train["user_id"].nunique()), "n_test_users": int(test["user_id"].nunique()),
        "n_skills_fitted": len(fitted), "n_test_unseen_skill": unseen,
        "versions": {"pyBKT": getattr(pyBKT, "__version__", _dist_version("pyBKT")), "numpy": np.__version__,
                     "pandas": pd.__version__, "python": platform.python_version()},
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count()},
        "params": params,
    }
    _atomic_write(args.info, json.dumps(info, indent=1) + "\n")
    print(f"pyBKT: fitted {len(fitted)} skills on {len(train)} responses in {fit_seconds:.1f} s; "
          f"predicted {len(test)} test responses in {predict_seconds:.1f} s", file=sys.stderr)
    return 0


def _dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


if __name__ == "__main__":  # pyBKT's parallel E-step uses multiprocessing: keep the guard
    sys.exit(main())
