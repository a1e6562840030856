"""The Open Bandit Dataset (OBD) small sample, and the issue's headline check on it: the value of the Bernoulli
Thompson Sampling (BTS) logging policy estimated off-policy from the uniform-random campaign's logs, next to the
BTS campaign's own (on-policy) click rate.

Saito, Aihara, Matsutani and Narita, "Open Bandit Dataset and Pipeline: Towards Realistic and Reproducible
Off-Policy Evaluation", arXiv:2008.07146 (NeurIPS 2021 Datasets and Benchmarks). The sample ships in obp's wheel
(``obp/dataset/obd/``, Apache-2.0), which ``make test`` installs in ``.venv-obp``; ``obd_root`` finds it there.
Loading follows obp's ``OpenBanditDataset``: rows sorted by timestamp, ``position`` 1/2/3 mapped to 0/1/2,
``click`` as the reward, ``propensity_score`` as the pscore.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from warmstart.data._columns import (
    TABLE_SUFFIXES,
    _parse_datetimes,
    _parse_integers,
    _parse_numbers,
    file_errors,
    read_columns,
)
from warmstart.data._paths import REPO, find_dataset
from warmstart.ope.estimators import OPEResult, bootstrap_ci, estimate_all

OBD_DIR = "open-bandit-dataset-small"
POLICIES = ("random", "bts")
CAMPAIGNS = ("all", "men", "women")
_COLUMNS = ("timestamp", "item_id", "position", "click", "propensity_score")

# Beta(alpha, beta) priors of the BTS policy as run in ZOZOTOWN production at the start of data collection, one
# pair per item. Source: obp (st-tech/zr-obp, Apache-2.0) ``obp/policy/conf/prior_bts.yaml``, used by
# ``BernoulliTS(is_zozotown_prior=True, campaign=...)``.
ZOZOTOWN_PRIOR_ALPHA: dict[str, tuple[float, ...]] = {
    "all": (
        47, 8, 62, 142, 3, 14, 7, 857, 12, 15, 6, 100, 48, 23, 71, 61, 13, 16, 518, 30,
        7, 4, 23, 8, 10, 11, 11, 18, 121, 11, 11, 10, 14, 9, 204, 58, 3, 19, 42, 1013,
        2, 328, 15, 31, 14, 138, 45, 55, 23, 38, 10, 401, 52, 6, 3, 6, 5, 32, 35, 133,
        52, 820, 43, 195, 8, 42, 40, 4, 32, 30, 9, 22, 6, 23, 5, 54, 8, 22, 65, 246,
    ),
    "men": (
        47, 8, 62, 142, 3, 6, 100, 48, 23, 71, 61, 13, 16, 518, 30, 7, 4, 23, 8, 10,
        11, 11, 18, 121, 11, 4, 32, 30, 9, 22, 6, 23, 5, 54,
    ),
    "women": (
        12, 7, 984, 13, 15, 15, 11, 14, 9, 200, 72, 3, 14, 49, 1278, 3, 325, 14, 27, 14,
        169, 48, 47, 18, 40, 12, 447, 46, 5, 3, 5, 7, 35, 34, 99, 30, 880, 51, 182, 6,
        45, 39, 10, 24, 72, 229,
    ),
}
ZOZOTOWN_PRIOR_BETA: dict[str, tuple[float, ...]] = {
    "all": (
        12198, 3566, 15993, 35522, 2367, 4609, 3171, 181745, 4372, 4951, 3100, 24665, 13210, 7061, 18061,
        17449, 5644, 6787, 111326, 8776, 3334, 2271, 7389, 2659, 3665, 4724, 3561, 5085, 27407, 4601,
        4756, 4120, 4736, 3788, 45292, 14719, 2189, 5589, 11995, 222255, 2308, 70034, 4801, 8274, 5421,
        31912, 12213, 13576, 6230, 10382, 4141, 85731, 12811, 2707, 2250, 2668, 2886, 9581, 9465, 28336,
        12062, 162793, 12107, 41240, 3162, 11604, 10818, 2923, 8897, 8654, 4000, 6580, 3174, 6766, 2602,
        14506, 3968, 7523, 16532, 51964,
    ),
    "men": (
        12198, 3566, 15993, 35522, 2367, 3100, 24665, 13210, 7061, 18061, 17449, 5644, 6787, 111326, 8776,
        3334, 2271, 7389, 2659, 3665, 4724, 3561, 5085, 27407, 4601, 2923, 8897, 8654, 4000, 6580,
        3174, 6766, 2602, 14506,
    ),
    "women": (
        3612, 3173, 204484, 4517, 4765, 5331, 4131, 4728, 4028, 44280, 17918, 2309, 4339, 12922, 270771,
        2480, 68475, 5129, 7367, 5819, 38026, 13047, 11604, 5394, 10912, 4439, 94485, 10700, 2679, 2319,
        2578, 3288, 9566, 9775, 20120, 7317, 172026, 13673, 37329, 3365, 10911, 10734, 4278, 7574, 16826,
        47462,
    ),
}


@dataclass(frozen=True, eq=False)
class OBDLog:
    """One campaign of one logging policy, rows sorted by time: logged feedback with its propensities.

    >>> import pathlib
    >>> def fake(policy, clicks):     # a stand-in for the sample's layout: 80 items, 3 slots, 1/80 each
    ...     folder = pathlib.Path("obd", policy, "all")
    ...     folder.mkdir(parents=True, exist_ok=True)
    ...     rows = "".join(f"2019-11-24 00:00:{t:02d}+00:00,{t % 80},{t % 3 + 1},{c},0.0125\\n"
    ...                    for t, c in enumerate(clicks))
    ...     _ = (folder / "all.csv").write_text("timestamp,item_id,position,click,propensity_score\\n" + rows)
    ...     _ = (folder / "item_context.csv").write_text("item_id,item_feature_0\\n" + "".join(
    ...         f"{i},0.0\\n" for i in range(80)))
    >>> fake("random", [int(t % 7 == 0) for t in range(60)])          # 60 rounds, a click every 7th
    >>> log = load_obd("random", "all", root="obd")
    >>> log.n, log.n_actions, log.len_list, log.position[:4].tolist(), float(log.pscore[0])
    (60, 80, 3, [0, 1, 2, 0], 0.0125)
    """

    policy: str
    campaign: str
    timestamp: np.ndarray  # (n,) datetime64[ns], UTC
    action: np.ndarray  # (n,) int64 item id in [0, n_actions)
    position: np.ndarray  # (n,) int64 slot in [0, len_list): 0 left, 1 center, 2 right
    reward: np.ndarray  # (n,) int64 click 0/1
    pscore: np.ndarray  # (n,) float64 logging policy's probability of (item, slot)
    item_feature_0: np.ndarray  # (n_actions,) float64, the numeric item feature of item_context.csv
    n_actions: int
    len_list: int

    @property
    def n(self) -> int:
        return int(self.action.shape[0])


def _check_choice(name: str, value: str, options: tuple[str, ...]) -> None:
    if value not in options:
        raise ValueError(f"{name}: expected one of {', '.join(options)}, got {value!r}")


def _table(folder: Path, stem: str) -> Path | None:
    """``folder/stem`` as CSV (the sample's own files), gzipped CSV or Parquet, whichever is there first."""
    return next((folder / (stem + sfx) for sfx in TABLE_SUFFIXES if (folder / (stem + sfx)).is_file()), None)


def obp_copies() -> list[Path]:
    """The OBD sample inside installed obp wheels (``obp/dataset/obd``): obp in this interpreter (found without
    importing it, which would import torch), then in the repository's ``.venv-obp`` (``make obp-venv``).

    >>> all(p.name == "obd" and p.parent.name == "dataset" for p in obp_copies())
    True
    """
    spec = importlib.util.find_spec("obp")
    here = [Path(p) / "dataset" / "obd" for p in (spec.submodule_search_locations or [])] if spec else []
    return here + sorted(REPO.glob(".venv-obp/lib/python3.*/site-packages/obp/dataset/obd"))


def obd_root(root: str | os.PathLike[str] | None = None, *, search_shipped: bool = True) -> Path:
    """The folder of the OBD small sample: ``root`` (or its ``open-bandit-dataset-small`` subfolder), else
    ``$WARMSTART_DATA/open-bandit-dataset-small`` or ``../shared/data/open-bandit-dataset-small`` next to the
    repository (or the working directory), else the copy in an installed obp wheel (``obp_copies``; not with
    ``search_shipped=False``).

    >>> obd_root("nowhere")
    Traceback (most recent call last):
    ...
    ValueError: root: expected a folder with random/all/all.csv of the Open Bandit Dataset sample, got ...
    """
    return find_dataset(OBD_DIR, root, lambda c: _table(c / "random" / "all", "all") is not None,
                        "random/all/all.csv of the Open Bandit Dataset sample", search_shipped=search_shipped,
                        installed=obp_copies())


def load_obd(policy: str = "random", campaign: str = "all",
             root: str | os.PathLike[str] | None = None) -> OBDLog:
    """Load ``{policy}/{campaign}/{campaign}.csv`` and its ``item_context.csv`` into typed arrays (each file
    may also be ``.csv.gz`` or Parquet, read by ``warmstart.data``'s table reader).

    >>> import pathlib
    >>> def fake(policy, clicks):     # a stand-in for the sample's layout: 80 items, 3 slots, 1/80 each
    ...     folder = pathlib.Path("obd", policy, "all")
    ...     folder.mkdir(parents=True, exist_ok=True)
    ...     rows = "".join(f"2019-11-24 00:00:{t:02d}+00:00,{t % 80},{t % 3 + 1},{c},0.0125\\n"
    ...                    for t, c in enumerate(clicks))
    ...     _ = (folder / "all.csv").write_text("timestamp,item_id,position,click,propensity_score\\n" + rows)
    ...     _ = (folder / "item_context.csv").write_text("item_id,item_feature_0\\n" + "".join(
    ...         f"{i},0.0\\n" for i in range(80)))
    >>> fake("random", [int(t % 7 == 0) for t in range(60)])          # 60 rounds, a click every 7th
    >>> log = load_obd("random", "all", root="obd")
    >>> log.reward[:8].tolist(), str(log.timestamp[0]), log.item_feature_0.shape
    ([1, 0, 0, 0, 0, 0, 0, 1], '2019-11-24T00:00:00.000000000', (80,))
    """
    _check_choice("policy", policy, POLICIES)
    _check_choice("campaign", campaign, CAMPAIGNS)
    folder = obd_root(root) / policy / campaign
    path = _table(folder, campaign) or folder / f"{campaign}.csv"
    items_path = _table(folder, "item_context") or folder / "item_context.csv"
    cols = read_columns(path, {c: c for c in _COLUMNS})
    items = read_columns(items_path, {c: c for c in ("item_id", "item_feature_0")})
    with file_errors(path):
        ts = _parse_datetimes(cols["timestamp"], "timestamp")
        item_col, slot_col, click = (_parse_integers(cols[c], c) for c in ("item_id", "position", "click"))
        pscore = _parse_numbers(cols["propensity_score"], "propensity_score")
    with file_errors(items_path):
        item_id = _parse_integers(items["item_id"], "item_id")
        item_feature = _parse_numbers(items["item_feature_0"], "item_feature_0")
    order = np.argsort(ts, kind="stable")  # obp sorts by timestamp; stable keeps file order within ties
    n_actions = int(item_id.shape[0])
    if not np.array_equal(np.sort(item_id), np.arange(n_actions)):
        raise ValueError(f"{items_path}: expected item ids 0..{n_actions - 1}, got others")
    feature = np.empty(n_actions)
    feature[item_id] = item_feature
    action = item_col[order]
    if action.min() < 0 or action.max() >= n_actions:
        raise ValueError(f"{path}: item_id: expected ids in [0, {n_actions - 1}], got {action.max()}")
    slots, position = np.unique(slot_col[order], return_inverse=True)  # dense rank, as obp
    pscore = pscore[order]
    if not np.all((pscore > 0) & (pscore <= 1)):
        raise ValueError(f"{path}: propensity_score: expected values in (0, 1], got {pscore.min()}..{pscore.max()}")
    reward = click[order]
    if not np.isin(reward, (0, 1)).all():
        raise ValueError(f"{path}: click: expected 0/1, got {np.setdiff1d(reward, (0, 1))[0]}")
    return OBDLog(policy=policy, campaign=campaign, timestamp=ts[order], action=action,
                  position=position.astype(np.int64), reward=reward, pscore=pscore, item_feature_0=feature,
                  n_actions=n_actions, len_list=int(slots.shape[0]))


def bts_action_dist(n_actions: int, len_list: int, n_rounds: int, n_sim: int = 100_000, seed: int = 0, *,
                    campaign: str = "all", alpha: np.ndarray | None = None,
                    beta: np.ndarray | None = None) -> np.ndarray:
    """The BTS policy's probability of showing each item at each slot, by Monte Carlo, as obp's
    ``BernoulliTS(is_zozotown_prior=True, campaign=campaign).compute_batch_action_dist(n_rounds, n_sim)``.

    Each simulation draws ``theta_a ~ Beta(alpha_a, beta_a)`` for every item and shows the ``len_list`` largest,
    the largest at slot 0; the frequencies over ``n_sim`` draws are the same for every round (the policy has no
    context and is not updated), so the result is tiled to ``(n_rounds, n_actions, len_list)``. ``alpha`` and
    ``beta`` default to the ZOZOTOWN production prior of ``campaign``.

    >>> import numpy as np
    >>> alpha, beta = np.array([50.0, 1.0, 1.0]), np.array([50.0, 99.0, 99.0])  # item 0 clicks about 50%
    >>> pi = bts_action_dist(3, 2, n_rounds=4, n_sim=10_000, alpha=alpha, beta=beta)
    >>> pi.shape, pi[0].round(2).tolist()               # item 0 always first; the others share slot 1
    ((4, 3, 2), [[1.0, 0.0], [0.0, 0.5], [0.0, 0.5]])
    """
    _check_choice("campaign", campaign, CAMPAIGNS)
    a = np.asarray(ZOZOTOWN_PRIOR_ALPHA[campaign] if alpha is None else alpha, dtype=float)
    b = np.asarray(ZOZOTOWN_PRIOR_BETA[campaign] if beta is None else beta, dtype=float)
    for name, arr in (("alpha", a), ("beta", b)):
        if arr.shape != (n_actions,):
            raise ValueError(f"{name}: expected {n_actions} prior values (one per item), got shape {arr.shape}")
        if not (np.isfinite(arr).all() and (arr > 0).all()):
            raise ValueError(f"{name}: expected finite positive prior values, got {arr[~(arr > 0)][:1]}")
    if not 1 <= len_list <= n_actions:
        raise ValueError(f"len_list: expected an integer in [1, {n_actions}], got {len_list}")
    for name, v in (("n_rounds", n_rounds), ("n_sim", n_sim)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name}: expected a positive integer, got {v!r}")
    rng = np.random.default_rng(seed)
    counts = np.zeros((n_actions, len_list))
    chunk = max(1, 2_000_000 // n_actions)
    for start in range(0, n_sim, chunk):
        m = min(chunk, n_sim - start)
        theta = rng.beta(a, b, size=(m, n_actions))
        # the len_list largest draws, largest first: slot k shows the item ranked k
        top = np.argsort(-theta, axis=1, kind="stable")[:, :len_list]
        for k in range(len_list):
            counts[:, k] += np.bincount(top[:, k], minlength=n_actions)
    return np.tile(counts / n_sim, (n_rounds, 1, 1))


def click_model(log: OBDLog, *, smoothing: float = 100.0, n_folds: int = 3, seed: int = 0) -> np.ndarray:
    """A context-free reward model for DM and DR: the click rate of each (item, slot), shrunk toward the slot's
    click rate with ``smoothing`` pseudo-impressions, cross-fitted over ``n_folds`` random folds (each round's
    estimate comes from the other folds, so DR's correction term is not fitted on its own reward).
    Returns ``(n, n_actions, len_list)``.

    >>> import pathlib
    >>> def fake(policy, clicks):     # a stand-in for the sample's layout: 80 items, 3 slots, 1/80 each
    ...     folder = pathlib.Path("obd", policy, "all")
    ...     folder.mkdir(parents=True, exist_ok=True)
    ...     rows = "".join(f"2019-11-24 00:00:{t:02d}+00:00,{t % 80},{t % 3 + 1},{c},0.0125\\n"
    ...                    for t, c in enumerate(clicks))
    ...     _ = (folder / "all.csv").write_text("timestamp,item_id,position,click,propensity_score\\n" + rows)
    ...     _ = (folder / "item_context.csv").write_text("item_id,item_feature_0\\n" + "".join(
    ...         f"{i},0.0\\n" for i in range(80)))
    >>> fake("random", [int(t % 7 == 0) for t in range(60)])          # 60 rounds, a click every 7th
    >>> q_hat = click_model(load_obd("random", "all", root="obd"), n_folds=3)
    >>> q_hat.shape, q_hat[0, :2].round(3).tolist()                 # items seen once: near their slot's rate
    ((60, 80, 3), [[0.133, 0.071, 0.182], [0.133, 0.071, 0.182]])
    """
    if not smoothing > 0:
        raise ValueError(f"smoothing: expected a positive number of pseudo-impressions, got {smoothing!r}")
    if isinstance(n_folds, bool) or not isinstance(n_folds, int) or not 1 <= n_folds <= log.n:
        raise ValueError(f"n_folds: expected an integer in [1, {log.n}], got {n_folds!r}")
    n_cells = log.n_actions * log.len_list
    cell = log.action * log.len_list + log.position
    fold = np.random.default_rng(seed).permutation(log.n) % n_folds
    out = np.empty((log.n, log.n_actions, log.len_list))
    for f in range(n_folds):
        train = fold != f if n_folds > 1 else np.ones(log.n, dtype=bool)
        shown = np.bincount(cell[train], minlength=n_cells).reshape(log.n_actions, log.len_list)
        clicks = np.bincount(cell[train], weights=log.reward[train], minlength=n_cells).reshape(shown.shape)
        slot_ctr = clicks.sum(axis=0) / np.maximum(shown.sum(axis=0), 1)
        out[fold == f] = (clicks + smoothing * slot_ctr) / (shown + smoothing)
    return out


def run_ope_obd(campaign: str = "all", *, n_sim: int = 100_000, seed: int = 0, n_boot: int = 2000,
                alpha: float = 0.05, smoothing: float = 100.0,
                root: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Estimate the BTS policy's click rate from the ``random`` campaign's logs (IPS, SNIPS, DM, DR, each with a
    percentile-bootstrap CI), next to the ``bts`` campaign's on-policy click rate with its CI.

    Returns ``{"ips", "snips", "dm", "dr", "on_policy_ctr_bts", "on_policy_ctr_random"}`` as :class:`OPEResult`
    plus the run's settings (``campaign``, ``n_sim``, ``seed``, ``n_boot``, ``n_actions``, ``len_list``).
    The bootstrap resamples rounds with the reward model held fixed, so DM's interval (a context-free model:
    nearly the same value every round) leaves out the model's own uncertainty and is far too narrow.

    >>> import pathlib
    >>> def fake(policy, clicks):     # a stand-in for the sample's layout: 80 items, 3 slots, 1/80 each
    ...     folder = pathlib.Path("obd", policy, "all")
    ...     folder.mkdir(parents=True, exist_ok=True)
    ...     rows = "".join(f"2019-11-24 00:00:{t:02d}+00:00,{t % 80},{t % 3 + 1},{c},0.0125\\n"
    ...                    for t, c in enumerate(clicks))
    ...     _ = (folder / "all.csv").write_text("timestamp,item_id,position,click,propensity_score\\n" + rows)
    ...     _ = (folder / "item_context.csv").write_text("item_id,item_feature_0\\n" + "".join(
    ...         f"{i},0.0\\n" for i in range(80)))
    >>> fake("random", [int(t % 7 == 0) for t in range(60)])          # 60 rounds, a click every 7th
    >>> fake("bts", [int(t % 5 == 0) for t in range(60)])                # BTS's campaign: a click every 5th
    >>> out = run_ope_obd("all", n_sim=1000, n_boot=200, root="obd")
    >>> {k: round(out[k].estimate, 3) for k in ("ips", "snips", "dm", "dr", "on_policy_ctr_bts")}
    {'ips': 0.139, 'snips': 0.21, 'dm': 0.156, 'dr': 0.197, 'on_policy_ctr_bts': 0.2}
    """
    _check_choice("campaign", campaign, CAMPAIGNS)
    log = load_obd("random", campaign, root)
    bts = load_obd("bts", campaign, root)
    pi_e = bts_action_dist(log.n_actions, log.len_list, log.n, n_sim=n_sim, seed=seed, campaign=campaign)
    q_hat = click_model(log, smoothing=smoothing, seed=seed)
    out: dict[str, Any] = dict(estimate_all(log.reward, log.action, log.pscore, pi_e, position=log.position,
                                            estimated_rewards=q_hat, n_boot=n_boot, alpha=alpha, seed=seed))
    for name, lg in (("on_policy_ctr_bts", bts), ("on_policy_ctr_random", log)):
        r = lg.reward.astype(float)
        ci = bootstrap_ci(r, n_boot=n_boot, alpha=alpha, seed=seed)
        out[name] = OPEResult(name=name, estimate=float(r.mean()), ci95=ci, n=lg.n)
    out.update(campaign=campaign, n_sim=n_sim, seed=seed, n_boot=n_boot, n_actions=log.n_actions,
               len_list=log.len_list)
    return out
