"""The linear-Gaussian reward family: ``reward = x . theta_user + noise``, a type a Gaussian prior over
``theta`` with its own noise variance (``model``); per-user additive statistics (``model``, ``stats`` for logs
bigger than memory, ``shards``); the EM fit of the population (``fit``, with ``estep`` and ``backend`` for its
passes, ``dp`` for a differentially private fit and ``dp_budget`` for its settings and privacy accounting,
``incremental`` for new users on a fitted population); the fitted population and its file (``population``); a
new user's exact belief (``belief``, ``changepoint``); item features learned from an event log
(``item_features``) and the fit from an event log (``events``)."""

from warmstart.families.linear.belief import Belief, BeliefBatch, BeliefFormatError
from warmstart.families.linear.fit import FitConfig, fit_population, responsibilities
from warmstart.families.linear.model import GaussianTypes, Summary, summarise, summarise_log, summarise_rows
from warmstart.families.linear.population import Population, PopulationFormatError

__all__ = ["Belief", "BeliefBatch", "BeliefFormatError", "FitConfig", "GaussianTypes", "Population",
           "PopulationFormatError", "Summary", "fit_population", "responsibilities", "summarise", "summarise_log",
           "summarise_rows"]
