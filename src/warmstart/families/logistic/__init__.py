"""The Bernoulli-logistic family for 0/1 rewards: ``P(r = 1 | x, w) = sigmoid(x . w)``, a type a Gaussian over
``w`` (``family``: the family protocol, registered as ``logistic_bernoulli``; ``model``: the users' events and
the assumed-density filter over a user's ``w``)."""
