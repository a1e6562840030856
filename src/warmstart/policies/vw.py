"""Vowpal Wabbit ``cb_explore_adf``, pre-trained on the pooled training log and then learning per user.

One VW model is trained on every training user's logged events together (a population model: the same
linear scorer for everyone). Each new user gets a fresh copy of that model, which then learns online from
that user's events only. VW is an optional dependency: ``pip install 'warmstart[peers]'``.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import tempfile
import weakref
from typing import Any

import numpy as np

from warmstart.data.bandit_log import TrainingLog
from warmstart.policies.base import Decision, Policy, PolicyContext, UserTruth, register_policy

_INSTALL_HINT = "the 'vw_pooled' policy needs Vowpal Wabbit: pip install 'warmstart[peers]'"


def _line_template(dim: int) -> str:
    return "|a " + " ".join(f"f{j}:%.7g" for j in range(dim))


def adf_lines(template: str, X: np.ndarray) -> list[str]:
    """One VW ADF line per candidate action (its features in namespace ``a``), no shared line, no labels.

    >>> adf_lines("|a f0:%.7g f1:%.7g", np.array([[1.0, 0.0], [0.25, -1.5]]))
    ['|a f0:1 f1:0', '|a f0:0.25 f1:-1.5']
    """
    return [template % tuple(row) for row in X.tolist()]


def labelled(lines: list[str], action: int, cost: float, prob: float) -> list[str]:
    """``lines`` with the CB label ``0:cost:prob`` on the chosen action's line.

    >>> labelled(['|a f0:1 f1:0', '|a f0:0.25 f1:-1.5'], 1, -0.8, 0.5)  # action 1, reward 0.8, prob 0.5
    ['|a f0:1 f1:0', '0:-0.8:0.5 |a f0:0.25 f1:-1.5']
    """
    out = list(lines)
    out[action] = f"0:{cost:.9g}:{prob:.9g} {out[action]}"
    return out


class VWUser:
    """A new user's own VW workspace (a copy of the pre-trained model). ``close()`` finishes it.

    >>> import numpy as np, warmstart as ws
    >>> from warmstart.policies import PolicyContext, make_policy
    >>> cfg = ws.sim.LinearTypesConfig(dim=2, n_types=2, n_actions=5, minority_share=0.5, outlier_share=0.0)
    >>> log = ws.sim.LinearTypesPopulation(cfg).logged(40, 20, seed=0)          # 800 logged events
    >>> policy = make_policy("vw_pooled", PolicyContext(train_log=log), seed=0, pretrain_events=400)
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    >>> state = policy.new_user()
    >>> policy.update(state, X, 2, -0.7)
    >>> type(state).__name__, state.n, state.closed
    ('VWUser', 1, False)
    >>> state.close()                                 # VW's workspace is finished; closing again does nothing
    >>> state.close()
    >>> state.closed
    True
    >>> policy.act(state, X)
    Traceback (most recent call last):
    ...
    ValueError: state: this user's VW workspace was closed; start a new user
    """

    def __init__(self, workspace: Any) -> None:
        self.workspace = workspace
        self.n = 0
        self._pending: tuple[np.ndarray, np.ndarray, list[str]] | None = None

    @property
    def closed(self) -> bool:
        return self.workspace is None

    def close(self) -> None:
        ws, self.workspace = self.workspace, None
        self._pending = None
        if ws is not None:
            ws.finish()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # never raise from a finaliser
            self.close()


@register_policy("vw_pooled")
class VWPooledPolicy(Policy):
    """Vowpal Wabbit ``cb_explore_adf``: a pooled model pre-trained on the log, then learning per user.

    Each event is an ADF example without a shared line, one line ``|a f0:x0 ... f{d-1}:x{d-1}`` per candidate;
    the chosen line carries the label ``0:cost:probability`` with ``cost = -reward`` and, in pre-training, the
    logged propensity. The actions' own features are the whole context, so VW's linear scorer (no
    interactions, VW's constant kept) is the right model. Pre-training runs once over ``pretrain_events``
    logged events drawn at random (deterministically from the seed; padding skipped) in shuffled order; the
    model is saved to a private temporary file, and each new user gets a fresh workspace loaded from it
    (~1.7 ms) that learns online from that user's events only. The action is sampled from VW's pmf with the
    policy's generator (not VW's), so the seed controls it; the propensity is the pmf's probability of the
    chosen action and ``probabilities`` is the whole pmf.

    The user's workspace lives in the state: ``state.close()`` (or ``policy.close_user(state)``) finishes it
    when the user is done; garbage collection of the state does the same as a guard.

    Settings, chosen by cumulative new-user regret (horizon 200; 60-120 population users plus a sixth as many
    minority and as many outlier users; three user seeds) on ``warmstart/LinearTypes-v0`` defaults (d = 10,
    20 actions, noise sd 0.5; training log 5,000 users x 50 events). For scale: a uniform random choice has
    ~420 regret per user there and ``club`` ~18; VW's per-user SGD needs more events than a ridge fit.

    * ``exploration = "--squarecb --gamma_scale 100"``: cumulative regret ~35 per user. ``--epsilon 0.05``
      was ~64 (a random action every 20th step, and importance weights up to 400 in the MTR update),
      ``--epsilon 0.01`` ~44, greedy (``--epsilon 0``) ~35, SquareCB at its default ``gamma_scale`` (10) ~41
      and at 300-1000 ~35, ``--regcbopt`` ~365. SquareCB at 100 ties greedy and keeps a full-support pmf.
    * ``learning_rate = 8.0`` (VW's ``-l``; default 0.5): a user has only ~200 events to move the pooled
      weights, so VW's default rate barely personalises (SquareCB at its default ``gamma_scale``: regret ~105
      at 0.5, ~73 at 1, ~53 at 2, ~41 at 4, ~39 at 8 and 16; at ``gamma_scale`` 100: ~38 at 4, ~35 at 8, ~37
      at 12). ``power_t`` stays at VW's 0.5 (0.25 and 0 were worse by 1-5).
    * ``reset_learning_rates = True``: the model is saved with ``--predict_only_model``, i.e. weights without
      VW's adaptive / normalised learning-rate state, so each user's copy starts those afresh. Keeping the
      state (``False``) leaves the rates decayed by pre-training and the user hardly learns (regret ~220).
    * ``pretrain_events = 20_000`` (of the 250,000 in the default log): regret is flat from 5,000 events on
      (no pre-training: ~51; 5,000: ~37; 20,000: ~36; 100,000: ~36), since the pooled model has d + 1
      weights. Pre-training costs ~85 microseconds per event in Python (format + parse + learn): 20,000
      events take ~1.7 s, the whole default log (``None``) ~21 s.

    ``extra_args`` appends further VW flags (recorded in ``settings()["vw_args"]``).

    Cost per decision: ~100 microseconds to act (format the candidates, VW parse + predict, sample) plus
    ~60 to update (VW parse + learn), d = 10 and 20 actions.

    >>> import numpy as np, warmstart as ws
    >>> from warmstart.policies import PolicyContext, make_policy
    >>> cfg = ws.sim.LinearTypesConfig(dim=2, n_types=2, n_actions=5, minority_share=0.5, outlier_share=0.0)
    >>> log = ws.sim.LinearTypesPopulation(cfg).logged(40, 20, seed=0)          # 800 logged events
    >>> policy = make_policy("vw_pooled", PolicyContext(train_log=log), seed=0, pretrain_events=400)
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    >>> policy.settings()["vw_args"], policy.settings()["n_pretrain_events"]
    ('--cb_explore_adf --squarecb --gamma_scale 100 --quiet -l 8', 400)
    >>> state = policy.new_user()
    >>> policy.act(state, X).probabilities.round(2).tolist()      # the pooled model's choice
    [0.02, 0.01, 0.96]
    >>> policy.update(state, X, 2, -0.7)                           # this user does not like it
    >>> policy.act(state, X).probabilities.round(2).tolist()      # candidate 0 now (the others keep a sliver)
    [1.0, 0.0, 0.0]
    >>> policy.close_user(state)                                   # finish the user's VW workspace
    >>> make_policy("vw_pooled", PolicyContext(train_log=log), learning_rate=-1.0)
    Traceback (most recent call last):
    ...
    ValueError: learning_rate: expected a finite positive number or None, got -1.0
    """

    needs_train_log = True

    def __init__(
        self,
        context: PolicyContext,
        *,
        seed: int = 0,
        exploration: str = "--squarecb --gamma_scale 100",
        learning_rate: float | None = 8.0,
        pretrain_events: int | None = 20_000,
        reset_learning_rates: bool = True,
        extra_args: str = "",
    ) -> None:
        super().__init__(context, seed=seed)
        try:
            import vowpalwabbit
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(_INSTALL_HINT) from exc
        if pretrain_events is not None and (not isinstance(pretrain_events, int) or pretrain_events < 0):
            raise ValueError(
                f"pretrain_events: expected a non-negative integer or None, got {pretrain_events!r}"
            )
        if learning_rate is not None and not (math.isfinite(learning_rate) and learning_rate > 0):
            raise ValueError(
                f"learning_rate: expected a finite positive number or None, got {learning_rate!r}"
            )
        self._vw = vowpalwabbit
        self.exploration = str(exploration)
        self.learning_rate = learning_rate
        self.pretrain_events = pretrain_events
        self.reset_learning_rates = bool(reset_learning_rates)
        self.extra_args = str(extra_args)
        args = ["--cb_explore_adf", self.exploration, "--quiet"]
        if learning_rate is not None:
            args.append(f"-l {learning_rate:g}")
        if self.extra_args:
            args.append(self.extra_args)
        self.vw_args = " ".join(args)
        self._template = _line_template(self.dim)

        assert context.train_log is not None
        self._dir = tempfile.mkdtemp(prefix="warmstart-vw-")
        self._finalizer = weakref.finalize(self, shutil.rmtree, self._dir, True)
        self._model_path = os.path.join(self._dir, "pretrained.vw")
        # with --predict_only_model the file holds the weights without VW's adaptive / normalised learning-rate
        # state, so each user's copy starts those afresh instead of at the rates decayed by pre-training
        save_args = f"{self.vw_args} --predict_only_model" if self.reset_learning_rates else self.vw_args
        ws = self._vw.Workspace(arg_list=save_args.split())
        try:
            self.n_pretrain_events = self._pretrain(ws, context.train_log)
            ws.save(self._model_path)
        finally:
            ws.finish()
        # an argument list, not a string, so a temporary directory with spaces in its path still works
        self._user_args = [*self.vw_args.split(), "-i", self._model_path]

    # -- pre-training -------------------------------------------------------------------------------------

    def _pretrain(self, ws: Any, log: TrainingLog) -> int:
        """Learn from a seeded sample of the logged events (the log was validated by ``Policy.__init__``)."""
        cands = np.asarray(log.candidates, dtype=float)
        action = np.asarray(log.action)
        prop = np.asarray(log.propensity, dtype=float)
        reward = np.asarray(log.reward, dtype=float)
        users, steps = np.nonzero(action >= 0)
        order = np.random.default_rng([self.seed, 0x5EED]).permutation(users.size)
        if self.pretrain_events is not None:
            order = order[: self.pretrain_events]
        users, steps = users[order], steps[order]
        a = action[users, steps]
        p, r = prop[users, steps], reward[users, steps]
        for i in range(users.size):
            lines = adf_lines(self._template, cands[users[i], steps[i]])
            ws.learn(labelled(lines, int(a[i]), -float(r[i]), float(p[i])))
        return int(users.size)

    # -- serving ------------------------------------------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        return {
            "vw_args": self.vw_args,
            "exploration": self.exploration,
            "learning_rate": self.learning_rate,
            "pretrain_events": self.pretrain_events,
            "n_pretrain_events": self.n_pretrain_events,
            "reset_learning_rates": self.reset_learning_rates,
            "interactions": "none (linear in the action features)",
            "vowpalwabbit": getattr(self._vw, "__version__", "unknown"),
        }

    def _new_user(self, truth: UserTruth | None) -> VWUser:
        return VWUser(self._vw.Workspace(arg_list=self._user_args))

    @staticmethod
    def close_user(state: VWUser) -> None:
        state.close()

    def _act(self, state: VWUser, X: np.ndarray) -> Decision:
        if state.closed:
            raise ValueError("state: this user's VW workspace was closed; start a new user")
        lines = adf_lines(self._template, X)
        pmf = np.asarray(state.workspace.predict(lines), dtype=float)
        if pmf.shape != (X.shape[0],) or not np.all(np.isfinite(pmf)) or pmf.sum() <= 0:
            raise RuntimeError(f"vowpalwabbit returned an invalid pmf {pmf!r}")
        pmf = np.maximum(pmf, 0.0)
        pmf /= pmf.sum()
        if pmf.size == 1:
            action = 0
        else:
            cdf = np.cumsum(pmf)
            action = min(int(np.searchsorted(cdf, self.rng.random() * cdf[-1], side="right")), pmf.size - 1)
            while pmf[action] <= 0:  # a draw on a zero-width bin's edge; step back to an action with mass
                action -= 1
        state._pending = (X, pmf, lines)
        return Decision(action=action, propensity=float(pmf[action]), probabilities=pmf)

    def _update(self, state: VWUser, X: np.ndarray, action: int, reward: float) -> None:
        if state.closed:
            raise ValueError("state: this user's VW workspace was closed; start a new user")
        pending = state._pending
        if pending is not None and pending[0].shape == X.shape and np.array_equal(pending[0], X):
            _, pmf, lines = pending
            prob = float(pmf[action])
        else:  # an update without the matching act: score the set to get the probability of the action
            lines = adf_lines(self._template, X)
            pmf = np.asarray(state.workspace.predict(lines), dtype=float)
            prob = float(pmf[action] / pmf.sum())
        state._pending = None
        prob = max(prob, 1e-12)
        state.workspace.learn(labelled(lines, action, -reward, prob))
        state.n += 1
