"""DELETE /v1/users/{id}: a user the service has seen is forgotten (again: still 200); one it never saw is a
404 in the API's error shape, and nothing is stored about them."""


def test_forgetting_a_user_never_seen_is_404_and_stores_nothing(serve):
    client, store = serve()
    r = client.delete("/v1/users/nobody")
    assert r.status_code == 404
    error = r.json()["error"]
    assert error["code"] == "not_found" and "'nobody'" in error["message"]
    assert not store.knows_user("nobody") and store.count("consent") == 0 and store.erased_users() == set()


def test_a_seen_user_is_forgotten_and_forgetting_twice_is_fine(serve):
    client, store = serve()
    actions = [{"id": f"a{i}", "features": [0.1 * i] * 10} for i in range(3)]
    event = client.post("/v1/rank", json={"user_id": "u", "actions": actions}).json()["event_id"]
    client.post(f"/v1/events/{event}/reward", json={"reward": 1.0})
    assert store.knows_user("u")
    first = client.delete("/v1/users/u")
    assert first.status_code == 200 and first.json() == {"user_id": "u", "events_deleted": 1, "status": "forgotten"}
    again = client.delete("/v1/users/u")  # the erasure record remains: the user is known, nothing left to delete
    assert again.status_code == 200 and again.json()["events_deleted"] == 0
    assert store.erased_users() == {"u"}


def test_a_user_with_only_a_consent_record_can_be_forgotten(serve):
    client, store = serve()
    assert client.put("/v1/users/c/consent", json={"opted_out": True}).status_code == 200
    assert client.delete("/v1/users/c").status_code == 200 and store.erased_users() == {"c"}
