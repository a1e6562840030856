"""The service's dashboard at ``/``: server-rendered HTML for an operator holding an admin key.

One page, five sections: the active population's types and the share of users each one explains, live
decisions and rewards (refreshed every few seconds from ``/dashboard/live`` by a small script; without
JavaScript the page still works, it just does not refresh), outcomes per type, one user's profile (what ``GET
/v1/users/{id}/profile`` answers) and the population versions. Charts are inline SVG drawn here; the CSS and
the script come from the installed package (``warmstart/service/static``, served at ``/static``). Nothing is
loaded from elsewhere, and the Content-Security-Policy header says so to the browser as well.

Auth: the page shows what was inferred about users, so it needs a key with the admin scope. ``POST /login``
(the form at ``/``) keeps the key in an HttpOnly, SameSite=Strict cookie; ``Authorization: Bearer`` works as
well. ``POST /logout`` drops the cookie. None of these routes are in the OpenAPI schema.

The queries are read-only SQLAlchemy Core on the store's engine: one code path for SQLite and PostgreSQL.
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

import numpy as np
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import case, func, select
from starlette.concurrency import run_in_threadpool

from warmstart._persist import FormatError
from warmstart.service.deps import AppState
from warmstart.service.engine import Engine, user_profile
from warmstart.service.errors import ApiError
from warmstart.service.state import ServiceState
from warmstart.store import schema as S
from warmstart.store.store import Store

TYPE_CAP = 5000  # beliefs read for the shares and per-type outcomes (the latest; the first render decodes them, ~3 s)
LIVE_ROWS = 20
MEAN_WINDOW = 1000  # rewards behind the "recent mean reward"
HISTORY_ROWS = 50
REFRESH_S = 5.0
COOKIE = "warmstart_admin"
COOKIE_MAX_AGE = 8 * 3600
STATIC = Path(__file__).with_name("static")
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


# ---------------------------------------------------------------------- what the sections show
@dataclass(frozen=True)
class Live:
    """Totals of the event log and its latest decisions."""

    events: int
    rewarded: int
    defaulted: int
    recent_mean: float | None  # over the latest ``recent_n`` rewards (``MEAN_WINDOW`` at most)
    recent_n: int
    latest: Sequence[Any]  # rows: event_id, user_id, created_at, action, propensity, reward, reward_default


@dataclass(frozen=True)
class TypeRow:
    name: str
    weight: float  # the population's mixture weight
    users: int  # users whose most probable type this is
    rewarded: int  # their rewarded events
    mean: float | None
    half_width: float | None  # of the 95% interval of the mean reward


@dataclass(frozen=True)
class Types:
    version: int
    rows: list[TypeRow]
    counted: int  # beliefs read and decoded (at most TYPE_CAP)
    held: int  # beliefs under this version
    other_versions: int  # beliefs made under another version (not learned again yet)
    unreadable: int


def live_stats(store: Store) -> Live:
    e = S.events
    with store.engine.connect() as conn:
        events, rewarded, defaulted = conn.execute(
            select(func.count(), func.count(e.c.reward),
                   func.coalesce(func.sum(case((e.c.reward_default.is_(True), 1), else_=0)), 0)).select_from(e)
        ).one()
        latest = conn.execute(select(e.c.event_id, e.c.user_id, e.c.created_at, e.c.action, e.c.propensity,
                                     e.c.reward, e.c.reward_default)
                              .order_by(e.c.created_at.desc(), e.c.event_id.desc()).limit(LIVE_ROWS)).all()
        recent = conn.execute(select(e.c.reward).where(e.c.reward.is_not(None))
                              .order_by(e.c.rewarded_at.desc(), e.c.event_id).limit(MEAN_WINDOW)).scalars().all()
    mean = float(np.mean(np.asarray(recent, dtype=float))) if recent else None
    return Live(int(events), int(rewarded), int(defaulted), mean, len(recent), latest)


def type_stats(store: Store, eng: Engine) -> Types:
    """Shares and outcomes by the most probable type of the ``TYPE_CAP`` most recently updated beliefs under the
    active version (decoded by ``Engine.decode``, whose cache keeps them until they change)."""
    b, e = S.beliefs, S.events
    recent = (select(b.c.user_id, b.c.state, b.c.version, b.c.population_version)
              .where(b.c.population_version == eng.version)
              .order_by(b.c.updated_at.desc(), b.c.user_id).limit(TYPE_CAP))
    users = recent.with_only_columns(b.c.user_id).subquery()
    per_user = (select(e.c.user_id, func.count(e.c.reward), func.sum(e.c.reward), func.sum(e.c.reward * e.c.reward))
                .select_from(e.join(users, e.c.user_id == users.c.user_id))
                .where(e.c.reward.is_not(None)).group_by(e.c.user_id))
    with store.engine.connect() as conn:
        beliefs = conn.execute(recent).all()
        rewards = conn.execute(per_user).all()
    held = store.count_beliefs(eng.version)
    others = store.count_beliefs() - held
    top: dict[str, int] = {}  # user -> most probable type, -1 if the belief cannot be read
    for user_id, raw, version, population_version in beliefs:
        try:
            probs = eng.summary(eng.decode(user_id, (bytes(raw), int(version), int(population_version)))).type_probs
            top[user_id] = -1 if probs is None else int(np.argmax(probs))
        except FormatError:
            top[user_id] = -1
    names = eng.population.type_names()
    found = np.array(list(top.values()), dtype=np.int64)
    users_per_type = np.bincount(found[found >= 0], minlength=len(names))
    k_of = np.array([top.get(row[0], -1) for row in rewards], dtype=np.int64)
    sums = np.array([row[1:] for row in rewards], dtype=float).reshape(-1, 3)  # count, sum, sum of squares
    n, s1, s2 = (np.bincount(k_of[k_of >= 0], weights=sums[k_of >= 0, j], minlength=len(names)) for j in range(3))
    weights = eng.population.weights / eng.population.weights.sum()
    rows = []
    for k, name in enumerate(names):
        mean = float(s1[k] / n[k]) if n[k] else None
        half = None
        if mean is not None and n[k] > 1:  # normal approximation, events taken as independent
            var = max(s2[k] - n[k] * mean * mean, 0.0) / (n[k] - 1)
            half = 1.96 * math.sqrt(var / n[k])
        rows.append(TypeRow(name, float(weights[k]), int(users_per_type[k]), int(n[k]), mean, half))
    return Types(eng.version, rows, int((found >= 0).sum()), held, others, int((found < 0).sum()))


def version_stats(store: Store) -> tuple[int | None, int | None, Sequence[Any], Sequence[Any]]:
    """Active and shadow versions, the stored versions and the activation history (newest first)."""
    a, p = S.activations, S.populations
    with store.engine.connect() as conn:
        history = conn.execute(select(a).order_by(a.c.id.desc()).limit(HISTORY_ROWS)).all()
        stored = conn.execute(select(p.c.version, p.c.created_at, p.c.fingerprint, p.c.meta)
                              .order_by(p.c.version.desc()).limit(HISTORY_ROWS)).all()
    return store.active_version(), store.active_version("shadow"), stored, history


# ---------------------------------------------------------------------- HTML
def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _when(t: float | None) -> str:
    return "" if t is None else time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(float(t)))


def _num(x: float | None, digits: int = 3) -> str:
    return "&mdash;" if x is None else f"{x:.{digits}f}"


def _bar(fraction: float, label: str) -> str:
    width = 100 * min(max(fraction, 0.0), 1.0)
    return (f'<svg class="bar" viewBox="0 0 100 8" preserveAspectRatio="none" role="img" aria-label="{_e(label)}">'
            f'<rect class="track" width="100" height="8"></rect>'
            f'<rect class="fill" width="{width:.2f}" height="8"></rect></svg>')


def _interval(row: TypeRow, lo: float, hi: float) -> str:
    """The mean reward and its 95% interval on a shared axis [lo, hi]."""
    if row.mean is None:
        return ""

    def x(v: float) -> float:
        return 2 + 96 * (v - lo) / (hi - lo) if hi > lo else 50.0

    half = row.half_width or 0.0
    label = f"mean {row.mean:.3f}" + (f" +/- {half:.3f}" if row.half_width is not None else "")
    return (f'<svg class="interval" viewBox="0 0 100 10" preserveAspectRatio="none" role="img" '
            f'aria-label="{_e(label)}"><line class="axis" x1="0" y1="5" x2="100" y2="5"></line>'
            f'<line class="ci" x1="{x(row.mean - half):.2f}" y1="5" x2="{x(row.mean + half):.2f}" y2="5"></line>'
            f'<rect class="mean" x="{x(row.mean) - 1:.2f}" y="1" width="2" height="8"></rect></svg>')


def _facts(items: Sequence[tuple[str, str, object]]) -> str:
    """``<dl>`` of (id, label, value) triples; the values are escaped."""
    cells = "".join(f'<div><dt>{_e(label)}</dt><dd id="{key}">{_e(value)}</dd></div>' for key, label, value in items)
    return f'<dl class="facts">{cells}</dl>'


def _table(table_id: str, head: Sequence[str], rows: Sequence[str], empty: str) -> str:
    """A table of pre-rendered ``<tr>`` rows (whose cells the caller escaped)."""
    if not rows:
        return f'<p class="empty" id="{table_id}-empty">{_e(empty)}</p>'
    ths = "".join(f"<th>{_e(h)}</th>" for h in head)
    return f'<table id="{table_id}"><thead><tr>{ths}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _page(title: str, body: str, *, nav: bool) -> str:
    links = ""
    if nav:
        links = ('<nav><a href="#types">Types</a><a href="#live">Live</a><a href="#outcomes">Outcomes</a>'
                 '<a href="#profile">Profile</a><a href="#versions">Versions</a>'
                 '<form method="post" action="/logout"><button type="submit">Sign out</button></form></nav>')
    script = '<script src="/static/dashboard.js" defer></script>' if nav else ""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/dashboard.css">
{script}
</head>
<body>
<header><h1>warmstart</h1>{links}</header>
<main>
{body}
</main>
</body>
</html>
"""


def _login(message: str = "") -> str:
    note = f'<p class="error" id="login-error" role="alert">{_e(message)}</p>' if message else ""
    body = f"""<section id="login">
<h2>Sign in</h2>
<p>The dashboard shows what was inferred about users, so it needs an API key with the admin scope
(<code>warmstart keys create --scope admin</code>).</p>
{note}
<form method="post" action="/login">
<label for="key">Admin API key</label>
<input id="key" name="key" type="password" autocomplete="off" required>
<button type="submit">Sign in</button>
</form>
</section>"""
    return _page("warmstart: sign in", body, nav=False)


def _types_section(types: Types | None, problem: str) -> str:
    if types is None:
        return f'<section id="types"><h2>Types and their shares</h2><p class="empty">{_e(problem)}</p></section>'
    rows = []
    for r in types.rows:
        share = r.users / types.counted if types.counted else 0.0
        rows.append(f'<tr><td>{_e(r.name)}</td><td class="num">{r.weight:.1%}</td>'
                    f'<td>{_bar(r.weight, f"weight {r.weight:.1%}")}</td><td class="num">{r.users:,}</td>'
                    f'<td class="num">{share:.1%}</td><td>{_bar(share, f"share {share:.1%}")}</td></tr>')
    n_types = len(types.rows) - 1
    of = f" of the {types.held:,} held under this version" if types.held > types.counted else ""
    notes = [(f"Population version {types.version}: {n_types} types and the novel component (users who fit none "
              "of them). Weight: the share of the population the fit gave each type. Users: how many users each "
              f"type is the most probable one for, among the {types.counted:,} most recently updated beliefs{of} "
              f"(at most {TYPE_CAP:,} are read).")]
    if types.other_versions:
        notes.append(f"{types.other_versions:,} beliefs were made under another population version; they count "
                     "again once their users are learned under this one.")
    if types.unreadable:
        notes.append(f"{types.unreadable:,} stored beliefs could not be read and are left out.")
    table = _table("types-table", ["Type", "Population weight", "", "Users", "Share of users", ""], rows,
                   "No types.")
    return (f'<section id="types"><h2>Types and their shares</h2>{table}'
            f'<p class="note">{_e(" ".join(notes))}</p></section>')


def _live_fragment(live: Live, refresh_s: float) -> str:
    rows = []
    for ev in live.latest:
        if ev.reward is None:
            reward = '<span class="waiting">waiting</span>'
        else:
            reward = _num(ev.reward)
        link = f"/?user={_e(quote(ev.user_id, safe=''))}#profile"
        rows.append(f'<tr><td>{_when(ev.created_at)}</td><td><a href="{link}">{_e(ev.user_id)}</a></td>'
                    f'<td class="id">{_e(ev.event_id[:12])}</td><td class="num">{int(ev.action)}</td>'
                    f'<td class="num">{ev.propensity:.3f}</td><td class="num">{reward}</td>'
                    f'<td>{"" if ev.reward is None else "default" if ev.reward_default else "reported"}</td></tr>')
    totals = _facts([("total-events", "Events", f"{live.events:,}"),
                     ("total-rewarded", "Rewarded", f"{live.rewarded:,}"),
                     ("total-waiting", "Waiting for a reward", f"{live.events - live.rewarded:,}"),
                     ("total-defaults", "Default rewards", f"{live.defaulted:,}"),
                     ("recent-mean", f"Mean reward, last {live.recent_n:,} rewards",
                      "none yet" if live.recent_mean is None else f"{live.recent_mean:.3f}")])
    table = _table("latest", ["Time (UTC)", "User", "Event", "Action", "Propensity", "Reward", "Kind"],
                   rows, "No decisions yet.")
    return (f"<h2>Live decisions and rewards</h2>{totals}<h3>Latest {LIVE_ROWS} decisions</h3>{table}"
            f'<p class="note" id="live-updated">Updated {_when(time.time())} UTC; this section refreshes every '
            f'{refresh_s:g} s (with JavaScript), or <a href="/">reload the page</a>.</p>')


def _outcomes_section(types: Types | None, problem: str) -> str:
    head = '<section id="outcomes"><h2>Outcomes per type</h2>'
    if types is None:
        return f'{head}<p class="empty">{_e(problem)}</p></section>'
    ends = [(r.mean - (r.half_width or 0.0), r.mean + (r.half_width or 0.0)) for r in types.rows
            if r.mean is not None]
    lo, hi = (min(a for a, _ in ends), max(b for _, b in ends)) if ends else (0.0, 1.0)
    rows = []
    for r in types.rows:
        ci = "&mdash;" if r.mean is None or r.half_width is None else (
            f"{r.mean - r.half_width:.3f} to {r.mean + r.half_width:.3f}")
        rows.append(f'<tr><td>{_e(r.name)}</td><td class="num">{r.users:,}</td><td class="num">{r.rewarded:,}</td>'
                    f'<td class="num">{_num(r.mean)}</td><td class="num">{ci}</td><td>{_interval(r, lo, hi)}</td></tr>')
    table = _table("outcomes-table", ["Type", "Users", "Rewarded events", "Mean reward", "95% interval", ""],
                   rows, "No types.")
    note = ("Users grouped by their most probable type now (the same beliefs as above); their rewarded events, "
            "default rewards included. The interval is the normal approximation with the events taken as "
            "independent, so it is too narrow when a few users hold many events.")
    return f'{head}{table}<p class="note">{_e(note)}</p></section>'


def _in_words(p: float) -> str:
    for bound, words in ((0.9, "almost certainly"), (0.6, "likely"), (0.3, "possibly"), (0.05, "unlikely")):
        if p >= bound:
            return words
    return "very unlikely"


def _profile_section(eng: Engine | None, problem: str, user: str) -> str:
    form = f"""<form method="get" action="/#profile" class="inline">
<label for="user">User id</label>
<input id="user" name="user" maxlength="128" value="{_e(user)}" required>
<button type="submit">Show profile</button>
</form>"""
    result = ""
    if not user:
        result = '<p class="note">What the service holds and inferred about one user, as <code>GET ' \
                 '/v1/users/{id}/profile</code> answers it.</p>'
    elif len(user) > 128:
        result = f'<p class="error">User id: expected at most 128 characters, got {len(user)}.</p>'
    elif eng is None:
        result = f'<p class="empty">{_e(problem)}</p>'
    else:
        p = user_profile(eng, user)
        yes = {True: "yes", False: "no"}
        facts = _facts([("profile-user", "User", p["user_id"]), ("profile-events", "Events held", p["events_held"]),
                        ("profile-learned", "Events learned from", p["events_learned_from"]),
                        ("profile-belief", "Belief stored", yes[p["belief_stored"]]),
                        ("profile-opted-out", "Opted out", yes[p["opted_out"]]),
                        ("profile-erased", "Erased", yes[p["erased"]])])
        rows = []
        for t in p["types"]:
            prob = float(t["probability"])
            rows.append(f'<tr><td>{_e(t["type"])}</td><td class="num">{prob:.1%}</td>'
                        f'<td>{_bar(prob, f"{prob:.1%}")}</td><td>{_in_words(prob)}</td></tr>')
        table = _table("profile-types", ["Type", "Probability", "", "In words"], rows, "No types.")
        result = f'<div id="profile-result"><p class="summary" id="profile-summary">{_e(p["summary"])}</p>' \
                 f"{facts}{table}</div>"
    return f'<section id="profile"><h2>A user\'s profile</h2>{form}{result}</section>'


def _versions_section(store: Store) -> str:
    active, shadow, stored, history = version_stats(store)
    facts = _facts([("active-version", "Active", "none" if active is None else active),
                    ("shadow-version", "Shadow", "none" if shadow is None else shadow)])
    rows = []
    for v in stored:
        meta = v.meta if isinstance(v.meta, dict) else {}
        status = ", ".join(m for m, at in (("active", active), ("shadow", shadow)) if at == v.version)
        fitted = (f"{meta['n_users']:,} users, {meta.get('n_events', 0):,} events"
                  if isinstance(meta.get("n_users"), int) and isinstance(meta.get("n_events", 0), int) else "")
        rows.append(f'<tr><td class="num">{int(v.version)}</td><td>{_when(v.created_at)}</td>'
                    f'<td class="id">{_e(v.fingerprint)}</td><td>{_e(fitted)}</td><td>{_e(status)}</td></tr>')
    versions = _table("versions-table", ["Version", "Created (UTC)", "Fingerprint", "Fitted on", "Status"], rows,
                      "No population stored.")
    rows = [f'<tr><td class="num">{int(h.id)}</td><td class="num">{int(h.population_version)}</td>'
            f"<td>{_e(h.mode)}</td><td>{_when(h.activated_at)}</td><td>{_e(h.note)}</td></tr>" for h in history]
    activations = _table("history-table", ["#", "Version", "Mode", "When (UTC)", "Note"], rows,
                         "Nothing activated yet.")
    return (f'<section id="versions"><h2>Population versions</h2>{facts}<h3>Stored versions</h3>{versions}'
            f"<h3>Activation history (latest {HISTORY_ROWS}, newest first)</h3>{activations}</section>")


# ---------------------------------------------------------------------- routes
def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers=HEADERS)


router = APIRouter()


def mount_dashboard(app: FastAPI, *, refresh_s: float = REFRESH_S) -> None:
    """Add the dashboard to ``app``: ``/`` (the page, or the sign-in form), ``/dashboard/live`` (the live section,
    for the page's script), ``POST /login``, ``POST /logout`` and the assets at ``/static``. The routes take the
    store and the active population's ``Engine`` from the app's ``ServiceState``. ``app.state.dashboard_refresh_s``
    is how often the live section refreshes."""
    if not refresh_s > 0:
        raise ValueError(f"refresh_s: expected a positive number of seconds, got {refresh_s}")
    app.mount("/static", StaticFiles(directory=STATIC), name="dashboard-static")
    app.state.dashboard_refresh_s = refresh_s
    app.include_router(router)


def _refused(request: Request, store: Store) -> HTMLResponse | None:
    """None for an admin; otherwise the sign-in form saying why."""
    header = request.headers.get("authorization", "")
    from_header = header.lower().startswith("bearer ")
    key = header[7:].strip() if from_header else request.cookies.get(COOKIE, "")
    if not key:
        return _html(_login())
    scope = store.key_scope(key)
    if scope == "admin":
        return None
    if scope is not None:
        return _html(_login(f"That key has the {scope} scope; the dashboard needs an admin key."), 403)
    response = _html(_login("That key is not valid (unknown, mistyped or revoked): sign in again."), 401)
    if not from_header:
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


def _current(state: ServiceState) -> tuple[Engine | None, str]:
    """The active population's engine, or None and why there is none."""
    try:
        return state.engine(), ""
    except ApiError as exc:
        return None, f"{exc.message} (POST /v1/admin/fit, then .../populations/{{version}}/activate)."


@router.get("/", include_in_schema=False)
def dashboard(state: AppState, request: Request) -> Response:
    store = state.store
    denied = _refused(request, store)
    if denied is not None:
        return denied
    eng, problem = _current(state)
    types = None if eng is None else type_stats(store, eng)
    refresh_s = float(request.app.state.dashboard_refresh_s)
    live = (f'<section id="live" data-refresh="/dashboard/live" data-refresh-ms="{round(refresh_s * 1000)}">'
            f"{_live_fragment(live_stats(store), refresh_s)}</section>")
    body = "\n".join([_types_section(types, problem), live, _outcomes_section(types, problem),
                      _profile_section(eng, problem, request.query_params.get("user", "").strip()),
                      _versions_section(store)])
    return _html(_page("warmstart dashboard", body, nav=True))


@router.get("/dashboard/live", include_in_schema=False)
def live_section(state: AppState, request: Request) -> Response:
    if _refused(request, state.store) is not None:
        return _html('<p class="error">Signed out.</p>', 401)
    return _html(_live_fragment(live_stats(state.store), float(request.app.state.dashboard_refresh_s)))


@router.post("/login", include_in_schema=False)
async def login(state: AppState, request: Request) -> Response:
    try:
        fields = parse_qs((await request.body()).decode("utf-8"), max_num_fields=10)
    except (UnicodeDecodeError, ValueError):
        fields = {}
    key = (fields.get("key") or [""])[0].strip()
    scope = await run_in_threadpool(state.store.key_scope, key) if key else None
    if scope != "admin":
        message = ("Enter an admin API key." if not key else
                   f"That key has the {scope} scope; the dashboard needs an admin key." if scope else
                   "That key is not valid (unknown, mistyped or revoked).")
        return _html(_login(message), 401)
    response = RedirectResponse("/", status_code=303, headers={"Cache-Control": "no-store"})
    response.set_cookie(COOKIE, key, max_age=COOKIE_MAX_AGE, path="/", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


@router.post("/logout", include_in_schema=False)
def logout() -> Response:
    response = RedirectResponse("/", status_code=303, headers={"Cache-Control": "no-store"})
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response
