"""The report's sections on how people learn: knowledge tracing on real students (``kt.json``) and tutoring
(``tutoring.json``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from warmstart.report import figures
from warmstart.report._page import _ci, _dec, _e, _finite, _img, _named, _num, _pct, _section, _table, _words

# What each kt.json model is, in a few words.
_KT_MODELS = {
    "ours": "learner types with personal rates and item difficulties",
    "ours_no_items": "learner types with personal rates, no item difficulties",
    "ours_no_grid": "learner types without the per-student rate grid",
    "pybkt": "pyBKT, the reference BKT library",
    "bkt": "one type: plain BKT, no personal rates",
    "skill_mean": "training accuracy of the skill; no student state",
}


# How each tutoring.json policy chooses and declares; {threshold} and {streak} come from the config.
_TUTORING_POLICIES = {
    "ours": "learner-type belief with personal rates; practises the skill of largest expected learning gain; "
            "declares a skill at P(known) ≥ {threshold}",
    "bkt_mastery": "standard BKT mastery learning (one type): skills in order, each until P(known) ≥ {threshold}",
    "round_robin": "cycles through the skills; declares one after {streak} correct answers in a row",
    "random": "a random undeclared skill; declares one after {streak} correct answers in a row",
    "oracle_type": "knows the student's true type: exact BKT, with the gain rule and threshold of ours",
}


_SKILLS_SHOWN = 6


def _kt_lead(doc: Mapping[str, Any]) -> str:
    cfg = doc.get("config") or {}
    counts = cfg.get("data_counts") or {}

    def split(name: str) -> tuple[str, str]:
        c = counts.get(name) or {}
        return _num(c.get("students")), _num(c.get("responses"))

    test, train, valid = split("test"), split("train"), split("valid")
    parts = [(f"Every model predicts each response of {test[0]} test students ({test[1]} responses), students "
              "it never saw in training, from that student's earlier responses only, before seeing the answer.")]
    parts.append(f"Models were fitted on {train[0]} training students ({train[1]} responses); the number of "
                 f"learner types and the item-difficulty prior were chosen on {valid[0]} validation students.")
    if cfg.get("quick"):
        parts.append("<strong>Quick run</strong>: a seeded subset of the students, not the full comparison.")
    if "pybkt" not in (doc.get("models") or {}) and doc.get("pybkt_note"):
        parts.append(f"pyBKT: {_e(doc['pybkt_note'])}.")
    return f'<p>{" ".join(parts)}</p>'


def _kt_table(doc: Mapping[str, Any]) -> str:
    """AUC with CI, AUC on responses 1-10, log loss, RMSE and fit time of every model; best values bold."""
    raw = doc.get("models")
    models: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    names = figures.policy_order(models, "ours", known=figures.KT_MODELS)
    colors = figures.policy_colors(names, known=figures.KT_MODELS)
    cols = (("auc", max), ("auc_first10", max), ("log_loss", min), ("rmse", min))
    best = {}
    for key, pick in cols:
        vals = [(models[n] or {}).get(key) for n in names]
        finite = [float(v) for v in vals if _finite(v)]
        best[key] = pick(finite) if finite else None
    rows = []
    for name in names:
        m = models[name] or {}
        cells = [f'<td class="name">{_named(name, colors)}</td>',
                 f'<td class="muted">{_e(_KT_MODELS.get(name, ""))}</td>']
        for key, _ in cols:
            v = m.get(key)
            bold = " best" if _finite(v) and v == best[key] else ""
            ci = _ci(m.get("auc_ci95"), _dec) if key == "auc" else ""
            cells.append(f'<td class="n{bold}">{_dec(v)}{ci}</td>')
        cells.append(f'<td class="n">{_num(m.get("fit_s"))}</td>')
        rows.append(f'<tr class="{"ours" if name == "ours" else ""}">{"".join(cells)}</tr>')
    head = [("Model", ""), ("What it is", ""), ("AUC", "n"), ("AUC, responses 1–10", "n"), ("Log loss", "n"),
            ("RMSE", "n"), ("Fit (s)", "n")]
    first = {(models[n] or {}).get("n_first10") for n in names} - {None}
    n10 = f" ({_num(first.pop())} responses)" if len(first) == 1 else ""
    note = ("AUC over all test responses, with its 95% bootstrap interval over students in brackets; AUC on "
            f"responses 1–10 scores only each student's first ten responses{n10}, where little is known about "
            "them yet. Higher AUC and lower log loss and RMSE are better; bold marks the best in each column. "
            "Fit time is wall seconds on this machine (— for a model with nothing to fit).")
    timing = (doc.get("config") or {}).get("fit_timing_note")
    if timing and "pybkt" in models:
        note += f" Timing: {_e(timing)}."
    items = doc.get("items") or {}
    if _finite(items.get("n_items")):
        seen = items.get("test_responses_on_items_seen_in_training")
        note += (f" Item difficulties: {_num(items['n_items'])} items, prior sd {_num(items.get('prior_sd'))} "
                 "chosen on the validation students" + (f"; {seen:.0%} of test responses are on items seen in "
                                                        "training" if _finite(seen) else "") + ".")
    return _table(head, rows) + f'<p class="note">{note}</p>'


def _chosen_skills(pop: Mapping[str, Any], words: Mapping[str, Mapping[str, Any]]) -> tuple[list[str], str]:
    """A handful of skills to show and why: the most practised ones when ``skill_responses`` gives response
    counts (a list in skill order or a name -> count mapping), else the ones on which the types differ most."""
    skills = list(dict.fromkeys(s for per in words.values() for s in per))
    raw = pop.get("skill_responses")
    counts: dict[str, float] = {}
    if isinstance(raw, Mapping):
        counts = {str(k): float(v) for k, v in raw.items() if _finite(v)}
    elif isinstance(raw, list) and len(raw) == len(skills):
        counts = {s: float(v) for s, v in zip(skills, raw, strict=True) if _finite(v)}
    if counts:
        ranked = sorted((s for s in skills if counts.get(s, 0) > 0), key=lambda s: -counts[s])
        return ranked[:_SKILLS_SHOWN], "the skills with the most training responses"

    def spread(skill: str) -> tuple[int, int]:
        per_type = [str(per.get(skill) or "typical") for per in words.values()]
        said = sum(len([w for w in p.split(", ") if w != "typical"]) for p in per_type)
        return len(set(per_type)), said

    ranked = sorted((s for s in skills if spread(s)[0] > 1), key=lambda s: tuple(-x for x in spread(s)))
    return ranked[:_SKILLS_SHOWN], "the skills on which the types differ most"


def _learner_types(pop: Mapping[str, Any], k_range: Any = None) -> str:
    """The learner types in plain words: share and overall summary, then the words on a handful of skills."""
    types = [t for t in (pop.get("types") or []) if isinstance(t, Mapping)]
    if not types:
        return ""
    raw = pop.get("skill_words")
    words: dict[str, Mapping[str, Any]] = ({str(k): v for k, v in raw.items() if isinstance(v, Mapping)}
                                           if isinstance(raw, Mapping) else {})
    k = pop.get("selected_k", len(types))
    tried = (f", trying K = {_e(k_range[0])}–{_e(k_range[1])}"
             if isinstance(k_range, list) and len(k_range) == 2 else "")
    lead = (f"<p>The fit found <strong>K = {_e(k)}</strong> learner types (chosen by held-out likelihood on "
            f"the validation students{tried}). A type is described on each skill by comparing its BKT "
            "parameters with the median over the types: fast or slow learner (learn rate), careless or careful "
            "(slip), good guesser or rarely guesses right (guess), knows it already or new to it (prior "
            "knowledge), forgetful; “typical” when none stands out. The overall words hold on skills carrying "
            "at least half of the training responses.</p>")
    head = [("", "")] + [(f"Type {t.get('index', i)} · {_pct(t.get('weight'))} of students", "")
                         for i, t in enumerate(types)]
    rows = ['<tr class="overall"><td class="name">overall</td>' + "".join(
        f"<td><strong>{_words(t.get('summary'))}</strong></td>" for t in types) + "</tr>"]
    skills, why = _chosen_skills(pop, words)
    for skill in skills:
        cells = "".join(f"<td>{_words((words.get(str(t.get('index'))) or {}).get(skill))}</td>" for t in types)
        rows.append(f'<tr><td class="name skill">{_e(skill)}</td>{cells}</tr>')
    n_skills = len({s for per in words.values() for s in per})
    note = (f'<p class="note">Rows below “overall”: {why}, {len(skills)} of {n_skills}.</p>' if skills else "")
    return lead + _table(head, rows, cls="types") + note


def _kt(doc: Mapping[str, Any]) -> str:
    pop = doc.get("population") or {}
    figure = _img(figures.kt_buckets_png(doc), "AUC by position in the student's history",
                  "AUC of each model on the test responses grouped by their position in the student's own "
                  "history (n: responses in the group). Early positions are the cold start, where a new student's "
                  "type is still being learned.")
    types = _learner_types(pop, (doc.get("config") or {}).get("k_range"))
    return (_kt_lead(doc) + _kt_table(doc) + figure +
            (f'<h3 id="kt-types">Learner types</h3>{types}' if types else ""))


def _tutoring_lead(doc: Mapping[str, Any]) -> str:
    cfg = doc.get("config") or {}
    pop = doc.get("population") or {}
    names = (cfg.get("skills") or {}).get("names") or []
    skills = f"{len(names)} skills ({', '.join(_e(n) for n in names)})" if names else "every skill"
    budget = f", or for at most {_num(cfg['budget'])} practice steps" if _finite(cfg.get("budget")) else ""
    parts = [(f"Each policy teaches the same {_num(cfg.get('n_students'))} simulated students {skills} until "
              f"it has declared every skill mastered{budget}. The students share their random numbers across "
              "policies, so differences come from the policies alone.")]
    if pop.get("n_types"):
        source = f"real students ({_e(cfg['data'])})" if cfg.get("data") else "ASSISTments 2009"
        parts.append(f"Students are drawn from {_e(pop['n_types'])} learner types fitted on {source}.")
    if cfg.get("quick"):
        parts.append("<strong>Quick run</strong>: fewer students, wider intervals.")
    return f'<p>{" ".join(parts)}</p>'


def _tutoring_table(doc: Mapping[str, Any]) -> str:
    cfg = doc.get("config") or {}
    raw = doc.get("policies")
    policies: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    names = [n for n in figures.policy_order(policies, "ours", known=figures.TUTORING_POLICIES)
             if isinstance(policies[n], Mapping)]
    colors = figures.policy_colors(names, known=figures.TUTORING_POLICIES)
    fill = {"threshold": _num(cfg.get("threshold", 0.95)), "streak": _num(cfg.get("streak", 3))}
    rows = []
    for name in names:
        p = policies[name]
        how = _TUTORING_POLICIES.get(name, "").format(**fill)
        rows.append(f'<tr class="{"ours" if name == "ours" else ""}"><td class="name">{_named(name, colors)}</td>'
                    f'<td class="muted">{_e(how)}</td>'
                    f'<td class="n">{_dec(p.get("steps_to_mastery"), 1)}{_ci(p.get("steps_ci95"), _num)}</td>'
                    f'<td class="n">{_pct(p.get("false_mastery_rate"))}'
                    f'{_ci(p.get("false_mastery_ci95"), _pct)}</td>'
                    f'<td class="n">{_pct(p.get("true_mastery_rate"))}</td>'
                    f'<td class="n">{_pct(p.get("declared_all_rate"))}</td></tr>')
    head = [("Policy", ""), ("How it works", ""), ("Steps to mastery", "n"), ("False mastery", "n"),
            ("All skills known at the end", "n"), ("Declared all in budget", "n")]
    note = ("Steps to mastery: mean practice steps per student until every skill is declared (the budget for a "
            "student never finished). False mastery: the share of declarations made while the skill was not "
            "yet known. All skills known: students who truly know every skill when their episode ends. "
            "Brackets are 95% bootstrap intervals over students.")
    frontier = doc.get("frontier") or {}
    ratio, rate = frontier.get("ratio_to_bkt_steps"), frontier.get("bkt_false_mastery_rate")
    if _finite(ratio) and _finite(rate):
        note += (f" Sweeping the mastery threshold: at bkt_mastery's false mastery rate ({_pct(rate)}), ours "
                 f"needs {ratio:.2f}× bkt_mastery's steps.")
    return _table(head, rows) + f'<p class="note">{note}</p>'


def _tutoring_types(doc: Mapping[str, Any]) -> str:
    pop = doc.get("population") or {}
    types = [t for t in (pop.get("types") or []) if isinstance(t, Mapping)]
    if not types:
        return ""
    counts = pop.get("student_type_counts")
    counts = counts if isinstance(counts, list) else []
    rows = []
    for i, t in enumerate(types):
        idx = t.get("index", i)
        n = counts[idx] if isinstance(idx, int) and 0 <= idx < len(counts) else None
        rows.append(f'<tr><td class="name">type {_e(idx)}</td><td class="n">{_pct(t.get("weight"))}</td>'
                    f'<td class="n">{_num(n)}</td><td>{_words(t.get("summary"))}</td></tr>')
    note = (pop.get("slow_minority") or {}).get("note")
    extra = f'<p class="note">Slow-learning minority: {_e(note)}.</p>' if note else ""
    head = [("Type", ""), ("Weight", "n"), ("Simulated students", "n"), ("In plain words", "")]
    return _table(head, rows) + extra


def _tutoring(doc: Mapping[str, Any]) -> str:
    figure = _img(figures.tutoring_png(doc), "Steps to mastery and false mastery rate by type of student",
                  "Top: mean practice steps to mastery for all students and for each true type of student, with "
                  "95% intervals; the dashed line is the step budget. Bottom: the false mastery rate of the same "
                  "groups. A policy should be low on both.")
    types = _tutoring_types(doc)
    return (_tutoring_lead(doc) + _tutoring_table(doc) + figure +
            (f'<h3 id="tutoring-types">Types of student</h3>{types}' if types else ""))


def _extra_tiles(kt: Mapping[str, Any] | None, tutoring: Mapping[str, Any] | None) -> list[tuple[str, str, str]]:
    """Tiles of the knowledge-tracing and tutoring results: ours against the main baseline."""
    tiles = []
    models = (kt or {}).get("models") or {}
    auc = (models.get("ours") or {}).get("auc")
    if _finite(auc):
        rival = next((n for n in ("pybkt", "bkt") if _finite((models.get(n) or {}).get("auc"))), None)
        sub = f"{_e(rival)} {_dec(models[rival]['auc'])}" if rival else ""
        tiles.append(("knowledge tracing AUC, unseen students", _dec(auc), sub))
    policies = (tutoring or {}).get("policies") or {}
    ours, bkt = policies.get("ours") or {}, policies.get("bkt_mastery") or {}
    if _finite(ours.get("steps_to_mastery")):
        sub = f"false mastery {_pct(ours.get('false_mastery_rate'))}"
        if _finite(bkt.get("steps_to_mastery")):
            sub = (f"bkt_mastery {_dec(bkt['steps_to_mastery'], 1)}; false mastery "
                   f"{_pct(ours.get('false_mastery_rate'))} vs {_pct(bkt.get('false_mastery_rate'))}")
        tiles.append(("tutoring: steps to mastery", _dec(ours["steps_to_mastery"], 1), sub))
    return tiles


def _replay_one(name: str, doc: Mapping[str, Any]) -> str:
    policies = doc.get("policies") or {}
    first: Mapping[str, Any] = next(iter(policies.values()), {})
    windows = [str(w) for w in first.get("mean_reward") or {}]
    colors = figures.policy_colors(policies)
    rows = []
    for pname, p in policies.items():
        cells = "".join(f'<td class="num">{_dec(p["mean_reward"].get(w))}'
                        f'<div class="ci">{_ci((p.get("ci95") or {}).get(w), _dec)}</div></td>' for w in windows)
        rows.append(f'<tr><td class="name">{_named(pname, colors)}</td>{cells}</tr>')
    ref = doc.get("reference") or {}
    for key, label in (("oracle_user", "oracle_user: the model after the user's whole history"),
                       ("hindsight_best", "best in hindsight"), ("random_expected", "uniform choice, expected")):
        means = (ref.get(key) or {}).get("mean_reward") or {}
        if means:
            cells = "".join(f'<td class="num">{_dec(means.get(w))}</td>' for w in windows)
            rows.append(f'<tr><td class="name">{_e(label)}</td>{cells}</tr>')
    data = doc.get("data") or {}
    lead = (f"<p>{_num(doc.get('n_train_users'))} earlier users fit the population; each of the "
            f"{_num(doc.get('n_test_users'))} later users is replayed on the items they have in the log "
            f"({_num(data.get('n_events'))} events, {_num(data.get('n_items'))} items).</p>")
    lead += _replay_choice(doc.get("fit") or {})
    table = _table([("Policy", "")] + [(f"steps {w}", "num") for w in windows], rows)
    paired = doc.get("paired") or {}
    if paired.get("vs"):
        prow = []
        for pname, comp in paired["vs"].items():
            cells = "".join(
                f'<td class="num">{_dec(d.get("mean_diff"), 3)}<div class="ci">{_ci(d.get("ci95"), _dec)}</div>'
                f'<div class="ci">{_e(d.get("verdict", ""))}</div></td>'
                for d in ((comp.get("windows") or {}).get(w) or {} for w in windows))
            prow.append(f'<tr><td class="name">{_named(pname, colors)}</td>{cells}</tr>')
        table += (f'<p class="note">{_e(paired.get("ours", ""))} minus each policy on the same users (paired), '
                  "with 95% bootstrap intervals over users:</p>"
                  + _table([("vs", "")] + [(f"steps {w}", "num") for w in windows], prow))
    fig = _img(figures.replay_png(doc), f"replay {name}",
               "Mean logged reward at each replayed step; later steps average over the users with items left.")
    return _section(f"replay-{name}", name, lead + table + fig, level=3)


def _replay_choice(fit: Mapping[str, Any]) -> str:
    """What was chosen for ours on the earlier users: the space and K, the item bias's penalty, the family."""
    space = fit.get("space") or {}
    ours = (space.get("chosen") or {}).get("ours") or {}
    if not ours:
        return ""
    parts = [f"ours' item space {_e((ours.get('space') or {}).get('name', ''))}, K = {_num(ours.get('n_types'))}"]
    bias = space.get("bias_penalty") or {}
    if bias:
        chosen = bias.get("chosen")
        parts.append(f"item bias penalty {_e(f'{chosen:g}' if isinstance(chosen, int | float) else str(chosen))}")
    for who, record in (space.get("refinement") or {}).items():
        scores = ", ".join(f"{_dec(v, 3)}" for v in record.get("scores") or [])
        parts.append(f"{_e(who)}' rounds of items refined by the types scored {scores} for 0, 1, .. rounds "
                     f"(chosen {_num(record.get('chosen'))}, lead over none {_dec(record.get('lead_over_none'), 3)}"
                     f", se {_dec(record.get('lead_se'), 3)})")
    family = fit.get("family") or {}
    if family.get("chosen"):
        parts.append(f"family {_e(family['chosen'])}")
    return f'<p class="note">Chosen on the earlier users only: {"; ".join(parts)}.</p>'


def _replay(docs: Mapping[str, Mapping[str, Any]]) -> str:
    """Section body for one or more ``replay.json`` documents, keyed by a display name."""
    intro = ('<p class="note">New users replayed on a real or exported log (<code>warmstart bench replay</code>): '
             "users are split by their first event, the earlier ones fit the population, and every policy picks "
             "among the items each later user actually has, scored with the logged reward. Brackets are 95% "
             "bootstrap intervals over users.</p>")
    return intro + "".join(_replay_one(name, doc) for name, doc in docs.items())


def _signed(value: Any) -> str:
    return f"{value:+.3f}" if _finite(value) else "—"


def _refine(doc: Mapping[str, Any]) -> str:
    """Section body for ``refine.json`` (``warmstart bench refine``): per events count, the rounds kept, ours'
    validation lead and ours' mean reward on new users with the rounds kept and with none, and the gain
    paired over those users."""
    cfg = doc.get("config") or {}
    intro = ('<p class="note">Items refined by the types where types exist by construction (<code>warmstart bench '
             f"refine</code>): {_num(cfg.get('n_users'))} users of LinearTypes-v0's types over "
             f"{_num(cfg.get('n_items'))} items whose features are hidden; the earlier users rate few or many "
             f"items, the later ones {_num(cfg.get('later_events'))}. Everything is chosen on the earlier users; "
             "each log is replayed with the rounds the choice keeps and with none (ours, mean reward, 95% "
             "bootstrap intervals over the new users).</p>")
    rows = []
    for n_events, log in (doc.get("logs") or {}).items():
        ref = (log.get("refined") or {}).get("refinement") or {}
        kept = ", ".join(_num((ref.get(who) or {}).get("chosen")) for who in ("ours", "pooled"))
        ours = ref.get("ours") or {}
        lead = f"{_dec(ours.get('lead_over_none'))} (se {_dec(ours.get('lead_se'))})"
        cells = ""
        for w, gain in (log.get("gain") or {}).items():
            arms = [((log.get(arm) or {}).get(key) or {}).get("mixture_ids", {}).get(w)
                    for key in ("mean_reward", "ci95") for arm in ("refined", "none")]
            cells += (f'<td class="num">{_dec(arms[0])}{_ci(arms[2], _dec)} / {_dec(arms[1])}{_ci(arms[3], _dec)}'
                      f'<div class="ci">{_signed((gain or {}).get("mean_diff"))} '
                      f'{_ci((gain or {}).get("ci95"), _signed)}</div></td>')
        rows.append(f'<tr><td class="num">{_e(n_events)}</td><td class="num">{_e(kept)}</td>'
                    f'<td class="num">{lead}</td>{cells}</tr>')
    logs: list[Mapping[str, Any]] = list((doc.get("logs") or {}).values())
    windows = list((logs[0].get("gain") or {}) if logs else {})
    head = [("earlier users' events", "num"), ("rounds kept (ours, one prior)", "num"),
            ("ours' validation lead", "num"),
            *[(f"steps {w}: refined / none (gain, paired)", "num") for w in windows]]
    return intro + _table(head, rows)
