"""``warmstart/Tutoring-v0``: students of a few learner types fitted on ASSISTments 2009, practising skills.

The population
--------------
``tutoring_population`` fits learner types (``warmstart.families.learner.fit``) on the ASSISTments 2009 training
split restricted to ``TUTORING_SKILLS``: the six single skills with the most training responses (after
collapsing multi-skill duplicates: 15,660 down to 4,952 responses, 1,578 students, 50,622 responses in all).
Six is enough for the choice of what to practise to matter and few enough that the fit takes seconds. K is
chosen (in 1..5, one-standard-error rule) by the held-out log likelihood of the validation split's students.

By default the fit has no forgetting (``forgets=False``: standard BKT, ``F = 0``). With forgetting, some fitted
types forget a practised skill with probability up to about 0.12 after every practice, which caps P(known)
after a practice below 0.95 for those types, so the usual 0.95 mastery rule could never fire for them; the
simulator supports forgetting (``forgets=True``) for a sensitivity run.

**Simulator choice, not data:** if the fitted types contain no slow-learning minority (a type of weight at
most ``MINORITY_MAX_WEIGHT`` that ``LearnerPopulation.describe`` calls a "slow learner"), one is added: a copy
of the heaviest type with its learn rates multiplied by ``SLOW_LEARN_SCALE`` (0.3), weight ``SLOW_WEIGHT``
(10%), the other weights renormalised. The population's ``diagnostics.slow_minority`` says whether this
happened and which type it is. (On the default fit it does not happen: the fit has its own slow minority.)

The environment
---------------
Each episode draws one student: a type from the weights, then each skill's hidden state known with probability
``L0``. The action is the index of the skill to practise. The student answers correctly with probability
``1 - S`` if the skill is known, ``G`` if not; then the skill is learnt (unknown -> known, probability ``T``) or
forgotten (known -> unknown, ``F``); other skills do not change. The observation is a dict: ``skill`` (the skill
just practised; ``n_skills`` right after ``reset``, meaning none), ``correct`` (0/1; 0 after ``reset``) and
``step`` (practice steps so far). The reward is -1 per step. The episode terminates when every skill is truly
known (checked after each step) and is truncated at ``budget`` steps. ``info`` holds the ground truth for
evaluation harnesses only: ``true_type`` and ``known`` (the hidden state of every skill); a policy must not read
it.

Random numbers (common random numbers)
--------------------------------------
``StudentBatch`` draws everything a student will ever need up front: the type, the initial knowledge and, per
skill, one uniform for the ``n``-th answer on that skill and one for the transition after it. Two policies
that practise a skill equally often therefore see the same answers and the same learning on it. The
environment and the benchmark (``warmstart.bench.tutoring``) share this kernel; the environment is a batch of one.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from warmstart.data.assistments import load_assistments2009
from warmstart.data.kt import KTData
from warmstart.families.learner.fit import LearnerFitConfig, LearnerPopulation, fit_learner_types

ENV_ID = "warmstart/Tutoring-v0"
# ids in the ``load_assistments2009`` vocabulary, most training responses first (after collapsing):
# Equation Solving Two or Fewer Steps, Conversion of Fraction Decimals Percents, Addition and Subtraction
# Integers, Addition and Subtraction Fractions, Equation Solving More Than Two Steps, Proportion
TUTORING_SKILLS: tuple[int, ...] = (86, 29, 67, 70, 87, 47)
DEFAULT_BUDGET = 200
MINORITY_MAX_WEIGHT = 0.25
SLOW_LEARN_SCALE = 0.3
SLOW_WEIGHT = 0.1


# ---------------------------------------------------------------------------------------------- population
def tutoring_data(split: str = "train", skills: tuple[int, ...] = TUTORING_SKILLS) -> KTData:
    """The ASSISTments 2009 responses of ``split`` on ``skills`` (ids of the loader's vocabulary), the skills
    renumbered ``0 .. len(skills) - 1``."""
    data = load_assistments2009(split=split, skills=list(skills))
    remap = np.full(data.n_skills, -1, dtype=np.int64)
    remap[list(skills)] = np.arange(len(skills))
    return KTData(student=data.student, skill=remap[data.skill], item=data.item, correct=data.correct,
                  student_ids=data.student_ids, skill_names=[data.skill_names[s] for s in skills], starts=data.starts,
                  item_names=data.item_names)


def has_slow_minority(population: LearnerPopulation, max_weight: float = MINORITY_MAX_WEIGHT) -> bool:
    """Whether some type of weight at most ``max_weight`` is a "slow learner" in ``population.describe()``.

    >>> import numpy as np
    >>> pop = LearnerPopulation(np.array([0.8, 0.2]), L0=np.full((2, 2), 0.1),         # 2 types, 2 skills:
    ...                         T=np.array([[0.4, 0.4], [0.05, 0.05]]), F=np.zeros((2, 2)),  # fast and slow
    ...                         G=np.full((2, 2), 0.2), S=np.full((2, 2), 0.1), skill_names=("add", "sub"))
    >>> [(d.weight, d.summary) for d in pop.describe()], has_slow_minority(pop)
    ([(0.8, 'fast learner'), (0.2, 'slow learner')], True)
    >>> has_slow_minority(pop, max_weight=0.1)                         # the slow type is 20% of students
    False
    """
    return any("slow learner" in d.summary and d.weight <= max_weight for d in population.describe())


def add_slow_minority(population: LearnerPopulation, learn_scale: float = SLOW_LEARN_SCALE,
                      weight: float = SLOW_WEIGHT) -> LearnerPopulation:
    """The population with one more type: the heaviest type with learn rates times ``learn_scale``, of weight
    ``weight`` (the other weights scaled by ``1 - weight``). A simulator choice, recorded in the diagnostics.

    >>> import numpy as np
    >>> pop = LearnerPopulation(np.array([0.8, 0.2]), L0=np.full((2, 2), 0.1),         # 2 types, 2 skills:
    ...                         T=np.array([[0.4, 0.4], [0.05, 0.05]]), F=np.zeros((2, 2)),  # fast and slow
    ...                         G=np.full((2, 2), 0.2), S=np.full((2, 2), 0.1), skill_names=("add", "sub"))
    >>> more = add_slow_minority(pop)                           # a copy of type 0, learning 0.3 x as fast
    >>> more.n_types, more.weights.round(2).tolist(), more.T[-1].round(2).tolist()
    (3, [0.72, 0.18, 0.1], [0.12, 0.12])
    >>> more.diagnostics.slow_minority["copy_of_type"]
    0
    """
    if not 0 < learn_scale < 1:
        raise ValueError(f"learn_scale: expected a value in (0, 1), got {learn_scale}")
    if not 0 < weight < 1:
        raise ValueError(f"weight: expected a value in (0, 1), got {weight}")
    base = int(np.argmax(population.weights))
    tables = {name: np.vstack([getattr(population, name), getattr(population, name)[base]])
              for name in ("L0", "T", "F", "G", "S")}
    tables["T"][-1] *= learn_scale
    weights = np.append(population.weights * (1.0 - weight), weight)
    note = {"added": True, "type": population.n_types, "copy_of_type": base, "learn_scale": learn_scale,
            "weight": weight, "note": "synthetic slow-learning type added by the simulator (not fitted to data)"}
    return LearnerPopulation(weights, skill_names=population.skill_names,
                             diagnostics=population.diagnostics.replace(slow_minority=note), **tables)


@functools.lru_cache(maxsize=4)
def _fit(seed: int, forgets: bool, n_types: int | None) -> LearnerPopulation:
    train = tutoring_data("train")
    cfg = LearnerFitConfig(n_types=n_types, k_range=(1, 5), forgets=forgets, seed=seed)
    heldout = None
    if n_types is None:
        valid = tutoring_data("valid")
        heldout = (valid.student, valid.skill, valid.correct)
    pop = fit_learner_types(train.student, train.skill, train.correct, len(train.skill_names), cfg,
                            heldout=heldout, skill_names=train.skill_names)
    for name in ("weights", "L0", "T", "F", "G", "S"):  # shared by every caller in this process: read-only
        getattr(pop, name).setflags(write=False)
    return pop


def tutoring_population(seed: int = 0, *, forgets: bool = False) -> LearnerPopulation:
    """The simulator's learner types: fitted on the ASSISTments 2009 training split (``TUTORING_SKILLS``), K
    chosen on the validation split; plus a synthetic slow-learning minority type if the fit has none (see the
    module docstring: a documented simulator choice). ``diagnostics.slow_minority["added"]`` says which.

    Takes a few seconds; the fit is kept in memory for the process (nothing is written to disk).
    """
    pop = _fit(int(seed), bool(forgets), None)
    if has_slow_minority(pop):
        slow = [d.index for d in pop.describe() if "slow learner" in d.summary and d.weight <= MINORITY_MAX_WEIGHT]
        note = {"added": False, "fitted_slow_types": slow,
                "note": "the fitted types already contain a slow-learning minority; nothing added"}
        return LearnerPopulation(pop.weights, pop.L0, pop.T, pop.F, pop.G, pop.S, skill_names=pop.skill_names,
                                 diagnostics=pop.diagnostics.replace(slow_minority=note))
    return add_slow_minority(pop)


def tutoring_single_type(seed: int = 0, *, forgets: bool = False) -> LearnerPopulation:
    """Plain single-type BKT (K = 1) fitted on the same responses as ``tutoring_population``."""
    return _fit(int(seed), bool(forgets), 1)


# ---------------------------------------------------------------------------------------------- students
@dataclass
class StudentBatch:
    """``N`` simulated students with their ground truth and every random number they will use.

    ``types (N,)`` and ``known (N, n_skills)`` (the hidden state now) are ground truth; ``practised (N,
    n_skills)`` counts practices per skill; ``answer_u`` and ``learn_u`` ``(N, n_skills, budget)`` are the
    uniforms of the ``n``-th practice of a skill (answer, then transition).

    >>> import numpy as np
    >>> pop = LearnerPopulation(np.array([0.8, 0.2]), L0=np.full((2, 2), 0.1),         # 2 types, 2 skills:
    ...                         T=np.array([[0.4, 0.4], [0.05, 0.05]]), F=np.zeros((2, 2)),  # fast and slow
    ...                         G=np.full((2, 2), 0.2), S=np.full((2, 2), 0.1), skill_names=("add", "sub"))
    >>> students = StudentBatch.sample(pop, 3, np.random.default_rng(0), budget=5)
    >>> students.types.tolist(), students.known.tolist()               # ground truth: type, hidden state
    ([0, 0, 0], [[True, False], [False, False], [False, False]])
    >>> twin = students.copy()                                         # the same random streams
    >>> students.answer(np.array([0, 1, 2]), np.array([0, 0, 1])).tolist(), students.practised.tolist()
    ([0, 0, 0], [[1, 0], [1, 0], [0, 1]])
    >>> twin.answer(np.array([0, 1, 2]), np.array([0, 0, 1])).tolist()   # same practice, same answers
    [0, 0, 0]
    >>> students.known.tolist()                                        # student 2 learnt skill 1
    [[True, False], [False, False], [False, True]]
    """

    population: LearnerPopulation
    types: np.ndarray
    known: np.ndarray
    practised: np.ndarray
    answer_u: np.ndarray
    learn_u: np.ndarray

    @staticmethod
    def sample(population: LearnerPopulation, n: int, rng: np.random.Generator, budget: int = DEFAULT_BUDGET,
               *, types: np.ndarray | None = None) -> StudentBatch:
        """Draw ``n`` students (types from the weights unless ``types`` is given) and their random streams."""
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n: expected a positive integer number of students, got {n!r}")
        if isinstance(budget, (bool, np.bool_)) or not isinstance(budget, (int, np.integer)) or budget < 1:
            raise ValueError(f"budget: expected a positive integer number of steps, got {budget!r}")
        if types is None:
            types = rng.choice(population.n_types, size=n, p=population.weights)
        types = np.asarray(types)
        if types.shape != (n,) or types.dtype.kind not in "iu" or types.min() < 0 \
                or types.max() >= population.n_types:
            raise ValueError(f"types: expected {n} type indices in [0, {population.n_types - 1}], got {types!r}")
        S = population.n_skills
        known = rng.random((n, S)) < population.L0[types]
        answer_u = rng.random((n, S, int(budget)))
        learn_u = rng.random((n, S, int(budget)))
        return StudentBatch(population, types.astype(np.int64), known, np.zeros((n, S), dtype=np.int64),
                            answer_u, learn_u)

    @property
    def n_students(self) -> int:
        return int(self.types.shape[0])

    @property
    def budget(self) -> int:
        return int(self.answer_u.shape[2])

    def copy(self) -> StudentBatch:
        """The same students before or at the same point: mutable state copied, random streams shared."""
        return StudentBatch(self.population, self.types, self.known.copy(), self.practised.copy(),
                            self.answer_u, self.learn_u)

    def answer(self, rows: np.ndarray, skills: np.ndarray) -> np.ndarray:
        """Students ``rows`` (distinct) practise ``skills``: returns correctness (int8), then each practised
        skill is learnt or forgotten. Trusted input (the environment and the harness validate)."""
        n = self.practised[rows, skills]
        if n.size and n.max() >= self.budget:
            raise ValueError(f"skills: expected at most budget = {self.budget} practices of a skill per "
                             "student, got one more")
        pop, ty = self.population, self.types[rows]
        state = self.known[rows, skills]
        p = np.where(state, 1.0 - pop.S[ty, skills], pop.G[ty, skills])
        correct = (self.answer_u[rows, skills, n] < p).astype(np.int8)
        u = self.learn_u[rows, skills, n]
        self.known[rows, skills] = np.where(state, u >= pop.F[ty, skills], u < pop.T[ty, skills])
        self.practised[rows, skills] = n + 1
        return correct


# ---------------------------------------------------------------------------------------------- env
class TutoringEnv(gym.Env):
    """One student per episode; pick the skill to practise, observe whether the answer was right.

    ``population`` defaults to ``tutoring_population(population_seed, forgets=forgets)``. ``reset(options=
    {"type": k})`` draws a student of type ``k``. See the module docstring for the dynamics, observation,
    reward and what ``info`` holds (ground truth: for harnesses, never for policies).

    Examples
    --------
    >>> full = lambda v: np.full((1, 2), v)
    >>> pop = LearnerPopulation(np.ones(1), L0=full(0.0), T=full(1.0), F=full(0.0), G=full(0.2), S=full(0.1))
    >>> env = TutoringEnv(pop, budget=10)
    >>> obs, info = env.reset(seed=0)
    >>> int(obs["skill"]), int(obs["step"]), info["known"].tolist()
    (2, 0, [False, False])
    >>> env.step(0)[2], env.step(1)[2]  # terminated once both skills are truly known
    (False, True)
    """

    metadata = {"render_modes": []}  # noqa: RUF012 -- Gymnasium declares it as a plain class attribute

    def __init__(self, population: LearnerPopulation | None = None, *, budget: int = DEFAULT_BUDGET,
                 population_seed: int = 0, forgets: bool = False) -> None:
        if isinstance(budget, (bool, np.bool_)) or not isinstance(budget, (int, np.integer)) or budget < 1:
            raise ValueError(f"budget: expected a positive integer number of steps, got {budget!r}")
        if population is not None and not isinstance(population, LearnerPopulation):
            raise ValueError(f"population: expected a LearnerPopulation, got {type(population).__name__}")
        if population is None:
            population = tutoring_population(population_seed, forgets=forgets)
        self.population = population
        self.budget = int(budget)
        S = self.population.n_skills
        self.observation_space = gym.spaces.Dict({
            "skill": gym.spaces.Discrete(S + 1),
            "correct": gym.spaces.Discrete(2),
            "step": gym.spaces.Discrete(self.budget + 1),
        })
        self.action_space = gym.spaces.Discrete(S)
        self.student: StudentBatch | None = None
        self._t = 0
        self._done = False

    def _obs(self, skill: int, correct: int) -> dict[str, Any]:
        return {"skill": np.int64(skill), "correct": np.int64(correct), "step": np.int64(self._t)}

    def _info(self) -> dict[str, Any]:
        assert self.student is not None
        return {"true_type": int(self.student.types[0]), "known": self.student.known[0].copy(), "step": self._t}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().reset(seed=seed)
        types = None
        if options and "type" in options:
            k = options["type"]
            if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) \
                    or not 0 <= k < self.population.n_types:
                raise ValueError(f"options['type']: expected a type index in [0, {self.population.n_types - 1}], "
                                 f"got {k!r}")
            types = np.array([int(k)])
        self.student = StudentBatch.sample(self.population, 1, self.np_random, self.budget, types=types)
        self._t = 0
        self._done = False
        return self._obs(self.population.n_skills, 0), self._info()

    def step(self, action: Any) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        if self.student is None or self._done:
            raise RuntimeError("step: the episode is over or not started; call reset()")
        if not self.action_space.contains(action):
            raise ValueError(f"action: expected a skill index in [0, {self.population.n_skills - 1}], "
                             f"got {action!r}")
        skill = int(action)
        correct = int(self.student.answer(np.zeros(1, dtype=np.int64), np.array([skill]))[0])
        self._t += 1
        terminated = bool(self.student.known[0].all())
        truncated = not terminated and self._t >= self.budget
        self._done = terminated or truncated
        return self._obs(skill, correct), -1.0, terminated, truncated, self._info()


def register_tutoring() -> None:
    """Register ``warmstart/Tutoring-v0`` with Gymnasium (once; importing this module does it).

    >>> register_tutoring()
    >>> gym.spec(ENV_ID).entry_point
    'warmstart.sim.tutoring:TutoringEnv'
    """
    if ENV_ID not in gym.registry:
        gym.register(id=ENV_ID, entry_point="warmstart.sim.tutoring:TutoringEnv")


register_tutoring()
