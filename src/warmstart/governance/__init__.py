"""Governance features users call: the fairness audit per type and group (``audit``), the attribute-leakage
audit (``leakage``) and plain-language explanations of what was inferred about a user (``explain``)."""
