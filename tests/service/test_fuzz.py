"""Schemathesis against the OpenAPI schema: generated requests, valid and malformed, on every operation; the
service must never answer with a 5xx."""

from warmstart.bench.service_probe import schemathesis_probe
from warmstart.service.app import create_app
from warmstart.store.store import Store


def test_no_operation_answers_with_a_server_error(tmp_path, population):
    store = Store.open(tmp_path / "fuzz.db")
    store.activate(store.add_population(population.to_bytes(), fingerprint=population.fingerprint()))
    key = store.create_api_key("admin")
    result = schemathesis_probe(create_app(store, seed=0), key, max_examples=20)
    assert result["server_errors"] == 0, result["first_server_errors"]
    assert result["operations"] >= 13 and result["requests"] >= 100
    assert result["by_class"].get("4xx", 0) > 0 and result["by_class"].get("2xx", 0) > 0
    store.close()
