"""Schemathesis against the OpenAPI schema: generated requests, valid and malformed, on every operation; the
service must never answer with a 5xx."""

import schemathesis
from hypothesis import HealthCheck, given, settings

from warmstart.service.app import create_app
from warmstart.service.store import Store


def test_no_operation_answers_with_a_server_error(tmp_path, population):
    store = Store.open(tmp_path / "fuzz.db")
    store.activate(store.add_population(population.to_bytes(), fingerprint=population.fingerprint()))
    key = store.create_api_key("admin")
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(store, seed=0))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    calls = []
    for op in operations:

        @given(case=op.as_strategy())
        @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None,
                  derandomize=True)
        def check(case):
            response = case.call(headers={"Authorization": f"Bearer {key}"})
            calls.append(response.status_code)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}")

        check()
    assert len(calls) >= 100 and any(400 <= c < 500 for c in calls)
    store.close()
