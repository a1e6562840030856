"""Governance features users call: the fairness audit per type and group (``audit``; its statistics and report in
``fairness``), the attribute-leakage audit (``leakage``) and plain-language explanations of what was inferred
about a user (``explain``)."""
