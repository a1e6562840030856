"""User-model families: what one user's behaviour depends on and how a type is parameterised.

Each family is one subpackage: ``linear`` (linear-Gaussian rewards: contextual bandits) and ``learner``
(hidden-Markov learners: knowledge tracing and tutoring). A family gives the per-user statistics, the EM fit of
a population of types, the population's file format, and a new user's exact belief under it. Families import
only the base modules (``warmstart._*``, ``warmstart.stats``) and the data records (``warmstart.data``);
``tests/test_layers.py`` checks it.
"""
