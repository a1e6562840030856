"""The learner family (knowledge tracing, tutoring): each type is a set of per-skill hidden-Markov learner
parameters (prior knowledge, learn, forget, guess, slip) with an exact forward-backward pass over every (student,
skill) sequence (``model``), fitted by EM with type responsibilities (``fit``); the fitted population and its file
(``population``); a new student's exact belief over types and personal rates (``belief``); per-item difficulty
offsets (``items``)."""
