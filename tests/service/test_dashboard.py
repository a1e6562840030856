"""The dashboard at ``/``: sign-in with an admin key, every section showing the numbers of a seeded store (on
SQLite and PostgreSQL), escaping, nothing loaded from the internet; then the same page in a real browser
(playwright driving Debian's chromium against uvicorn on a loopback port), with a screenshot kept in
``test-output/dashboard.png``."""

import re
import shutil
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from support.server import free_port

from warmstart.service.app import create_app
from warmstart.store.store import Store

CHROMIUM = "/usr/bin/chromium"
REWARDS = {"ann": [1.0, 0.5, 0.0], "bob": [0.25, 0.75]}  # then "cy" gets a default reward, "dee" is waiting
EXPECTED = {"total-events": "7", "total-rewarded": "6", "total-waiting": "1", "total-defaults": "1",
            "recent-mean": f"{2.5 / 6:.3f}"}
SCREENSHOT = Path(__file__).parents[2] / "test-output" / "dashboard.png"


class _Page(HTMLParser):
    """The text of every element with an id, and every table's body rows as lists of cell texts."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.by_id: dict[str, str] = {}
        self.tables: dict[str, list[list[str]]] = {}
        self._open: list[tuple[str, str | None]] = []
        self._table: str | None = None
        self._in_body = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        ident = dict(attrs).get("id")
        if tag == "table":
            self._table = ident
            self.tables[ident] = []
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.tables[self._table].append([])
        elif tag == "td" and self._in_body:
            self.tables[self._table][-1].append("")
        if ident is not None:
            self.by_id.setdefault(ident, "")
        if tag not in ("input", "meta", "link", "br"):
            self._open.append((tag, ident))

    def handle_endtag(self, tag):
        while self._open:
            if self._open.pop()[0] == tag:
                break
        if tag == "tbody":
            self._in_body = False

    def handle_data(self, data):
        for _, ident in self._open:
            if ident is not None:
                self.by_id[ident] += data
        if self._in_body and self._open and self.tables[self._table] and self.tables[self._table][-1]:
            self.tables[self._table][-1][-1] += data


def _rank(http, user, rng):
    actions = [{"features": list(rng.normal(size=10) / np.sqrt(10))} for _ in range(4)]
    r = http.post("/v1/rank", json={"user_id": user, "actions": actions})
    r.raise_for_status()
    return r.json()


def _seed(http, app) -> None:
    """The events behind ``EXPECTED``: ann and bob rewarded, cy's reward defaulted (0.0), dee waiting."""
    rng = np.random.default_rng(0)
    for user, rewards in REWARDS.items():
        for reward in rewards:
            event = _rank(http, user, rng)["event_id"]
            http.post(f"/v1/events/{event}/reward", json={"reward": reward}).raise_for_status()
    _rank(http, "cy", rng)
    assert app.state.apply_default_rewards(now=time.time() + 61) == 1
    _rank(http, "dee", rng)


def _outcomes(http) -> dict[str, list[str]]:
    """Outcome rows computed here: users grouped by the most probable type their profile names."""
    rewards = {**REWARDS, "cy": [0.0]}
    groups: dict[str, list[float]] = {}
    users: dict[str, int] = {}
    for user, got in rewards.items():
        top = http.get(f"/v1/users/{user}/profile").json()["types"][0]["type"]
        groups.setdefault(top, []).extend(got)
        users[top] = users.get(top, 0) + 1
    rows = {}
    for name, r in groups.items():
        r = np.array(r)
        mean = r.mean()
        if r.size > 1:
            half = 1.96 * r.std(ddof=1) / np.sqrt(r.size)
            ci = f"{mean - half:.3f} to {mean + half:.3f}"
        else:
            ci = "\u2014"
        rows[name] = [name, str(users[name]), str(r.size), f"{mean:.3f}", ci]
    return rows


@pytest.fixture
def served(tmp_path, population):
    store = Store.open(tmp_path / "dash.db")
    store.activate(store.add_population(population.to_bytes(), fingerprint=population.fingerprint()),
                   note="first")
    app = create_app(store, seed=0, reward_window_s=60.0, default_reward=0.0)
    client = TestClient(app, raise_server_exceptions=True)
    client.headers["Authorization"] = f"Bearer {store.create_api_key('client')}"
    yield client, store, store.create_api_key("admin")
    store.close()


def test_sign_in_needs_an_admin_key(served):
    client, store, admin = served
    browser = TestClient(client.app)
    page = browser.get("/")
    assert page.status_code == 200 and 'action="/login"' in page.text and "total-events" not in page.text
    assert browser.get("/", headers={"Authorization": client.headers["Authorization"]}).status_code == 403
    assert browser.get("/", headers={"Authorization": "Bearer ws_nope_nope"}).status_code == 401
    assert browser.get("/dashboard/live").status_code == 401
    assert browser.get("/", headers={"Authorization": f"Bearer {admin}"}).status_code == 200

    wrong = browser.post("/login", data={"key": "ws_nope_nope"})
    assert wrong.status_code == 401 and "not valid" in _Page(wrong.text).by_id["login-error"]
    client_key = client.headers["Authorization"][7:]
    refused = browser.post("/login", data={"key": client_key})
    assert refused.status_code == 401 and "client scope" in _Page(refused.text).by_id["login-error"]
    assert "warmstart_admin" not in browser.cookies

    ok = browser.post("/login", data={"key": admin}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/"
    cookie = ok.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    page = browser.get("/")
    assert page.status_code == 200 and "total-events" in page.text
    assert browser.get("/dashboard/live").status_code == 200
    browser.post("/logout")
    assert "total-events" not in browser.get("/").text

    store.revoke_api_key(admin)  # a revoked key in a cookie signs the browser out
    browser.cookies.set("warmstart_admin", admin)
    assert browser.get("/").status_code == 401

    paths = client.get("/openapi.json").json()["paths"]
    assert not {"/", "/login", "/logout", "/dashboard/live"} & set(paths)


def test_every_section_shows_the_stored_numbers(db_url, population):
    store = Store.open(db_url)
    try:
        store.activate(store.add_population(population.to_bytes(), fingerprint=population.fingerprint(),
                                            meta={"n_users": 30, "n_events": 600}), note="first")
        store.activate(1, mode="shadow", note="compare")
        app = create_app(store, seed=0, reward_window_s=60.0)
        client = TestClient(app)
        client.headers["Authorization"] = f"Bearer {store.create_api_key('admin')}"
        _seed(client, app)

        page = _Page(client.get("/", params={"user": "ann"}).text)
        assert {k: page.by_id[k] for k in EXPECTED} == EXPECTED
        latest = page.tables["latest"]
        assert len(latest) == 7 and latest[0][1] == "dee" and latest[0][5] == "waiting"
        assert [row[6] for row in latest].count("default") == 1

        types = page.tables["types-table"]
        names = population.type_names()
        assert [row[0] for row in types] == names
        weights = population.weights / population.weights.sum()
        assert [row[1] for row in types] == [f"{w:.1%}" for w in weights]
        expected = _outcomes(client)
        counted = {row[0]: int(row[3]) for row in types if row[3] != "0"}
        assert counted == {name: int(row[1]) for name, row in expected.items()}  # dee has no belief yet

        outcomes = {row[0]: row[:5] for row in page.tables["outcomes-table"] if row[1] != "0"}
        assert outcomes == expected

        assert page.by_id["profile-events"] == "3" and page.by_id["profile-learned"] == "3"
        assert page.by_id["profile-opted-out"] == "no" and page.by_id["profile-erased"] == "no"
        assert page.by_id["profile-summary"].startswith("After 3 events")
        assert len(page.tables["profile-types"]) == len(names)

        assert page.by_id["active-version"] == "1" and page.by_id["shadow-version"] == "1"
        assert page.tables["versions-table"][0][3] == "30 users, 600 events"
        assert [(row[2], row[4]) for row in page.tables["history-table"]] == [("shadow", "compare"),
                                                                               ("active", "first")]
        live = _Page(client.get("/dashboard/live").text)
        assert {k: live.by_id[k] for k in EXPECTED} == EXPECTED
    finally:
        store.close()


def test_user_supplied_text_is_escaped(served):
    client, _, admin = served
    evil = '<script>alert("x")</script>'
    event = _rank(client, evil, np.random.default_rng(1))["event_id"]
    client.post(f"/v1/events/{event}/reward", json={"reward": 1.0})
    text = client.get("/", params={"user": evil}, headers={"Authorization": f"Bearer {admin}"}).text
    assert "<script>alert" not in text and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in text
    page = _Page(text)
    assert page.tables["latest"][0][1] == evil and page.by_id["profile-user"] == evil
    assert page.by_id["profile-events"] == "1"


def test_nothing_comes_from_the_internet(served):
    client, _, admin = served
    _rank(client, "u", np.random.default_rng(2))
    auth = {"Authorization": f"Bearer {admin}"}
    page = client.get("/", headers=auth)
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)
    assert sorted(assets) == ["/static/dashboard.css", "/static/dashboard.js"]
    for text in [page.text, client.get("/dashboard/live", headers=auth).text, client.get("/").text,
                 *(client.get(a).text for a in assets)]:
        assert not re.search(r"https?://", text), re.search(r".{40}https?://.{40}", text)


def test_the_page_says_when_there_is_no_active_population(tmp_path):
    store = Store.open(tmp_path / "empty.db")
    client = TestClient(create_app(store))
    page = client.get("/", params={"user": "u"}, headers={"Authorization": f"Bearer {store.create_api_key('admin')}"})
    assert page.status_code == 200 and page.text.count("no active population") == 3
    assert _Page(page.text).by_id["total-events"] == "0"
    store.close()


def _playwright():
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError as exc:
        pytest.fail(f"playwright: not installed ({exc}); `make test` installs it (the dev extra)")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"chromium: expected Debian's package at {CHROMIUM}, found none; `make test` installs it")
    return sync_playwright, expect


def test_the_dashboard_in_a_real_browser(tmp_path, population):
    sync_playwright, expect = _playwright()
    import uvicorn

    store = Store.open(tmp_path / "browser.db")
    store.activate(store.add_population(population.to_bytes(), fingerprint=population.fingerprint()),
                   note="first")
    admin, client_key = store.create_api_key("admin"), store.create_api_key("client")
    app = create_app(store, seed=0, reward_window_s=60.0)
    app.state.dashboard_refresh_s = 0.3  # the live section's script refreshes quickly here
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start within 30 s"
            time.sleep(0.05)
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {client_key}"}, timeout=10) as http:
            _seed(http, app)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
                context = browser.new_context(viewport={"width": 1400, "height": 900})
                attempted: list[str] = []

                def only_loopback(route):
                    if urlsplit(route.request.url).hostname == "127.0.0.1":
                        route.continue_()
                    else:
                        attempted.append(route.request.url)
                        route.abort()

                context.route("**/*", only_loopback)
                page = context.new_page()
                problems: list[str] = []
                page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: problems.append(str(e)))

                page.goto(f"{base}/")
                page.fill("#key", "ws_wrong_key")
                page.click("#login button[type=submit]")
                expect(page.locator("#login-error")).to_contain_text("not valid")
                problems.clear()  # the browser logs the 401 of the wrong key: expected
                page.fill("#key", admin)
                page.click("#login button[type=submit]")
                for ident, value in EXPECTED.items():
                    expect(page.locator(f"#{ident}")).to_have_text(value)
                expect(page.locator("#types-table tbody tr")).to_have_count(population.n_components)
                expect(page.locator("#outcomes-table tbody tr")).to_have_count(population.n_components)
                expect(page.locator("#latest tbody tr")).to_have_count(7)
                expect(page.locator("#active-version")).to_have_text("1")

                _rank(http, "eve", np.random.default_rng(9))  # the script brings it in without a reload
                expect(page.locator("#total-events")).to_have_text("8", timeout=5000)
                expect(page.locator("#total-waiting")).to_have_text("2")

                page.fill("#user", "ann")
                page.click("#profile button[type=submit]")
                expect(page.locator("#profile-events")).to_have_text("3")
                expect(page.locator("#profile-summary")).to_contain_text("After 3 events")
                expect(page.locator("#profile-types tbody tr")).to_have_count(population.n_components)

                shot = tmp_path / "dashboard.png"
                page.screenshot(path=str(shot), full_page=True)
                browser.close()
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)
        assert attempted == [], f"the page tried to reach beyond 127.0.0.1: {attempted}"
        assert problems == [], f"browser console errors: {problems}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        store.close()
    assert not thread.is_alive(), "uvicorn did not stop"
