"""A request body that is not JSON: the answer says where it breaks (line, column, the text around it), what the
parser expected there and how to fix it, in the API's error shape; not a bare character offset."""

import pytest

from warmstart.service.json_errors import json_error_message


@pytest.mark.parametrize(("body", "where", "what"), [
    (b'{"user_id": "u", "actions": [1, 2,]}', "line 1, column 35 (character 34)", "Expecting value"),
    (b"{user_id: 1}", "line 1, column 2 (character 1)", "Expecting property name enclosed in double quotes"),
    (b'{\n  "user_id": "u",\n  "actions": []\n  "x": 1\n}', "line 4, column 3 (character 38)",
     "Expecting ',' delimiter"),
    (b'{"user_id": "u"', "line 1, column 16 (character 15)", "Expecting ',' delimiter"),
])
def test_malformed_json_says_where_and_what(serve, body, where, what):
    client, store = serve()
    r = client.post("/v1/rank", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "invalid_request"
    message = error["message"]
    assert message.startswith(f"body: invalid JSON at {where}: {what}, near ")
    assert "double quotes, no trailing commas" in message  # the hint
    assert store.count("events") == 0


def test_the_message_shows_the_text_around_the_break():
    message = json_error_message('{"a": [1, 2,]}', {"loc": ("body", 12), "ctx": {"error": "Expecting value"}})
    assert "near '{\"a\": [1, 2,' <here> ']}'" in message
    assert json_error_message(b"", {"loc": ("body", 0), "ctx": {"error": "Expecting value"}}).startswith(
        "body: invalid JSON at line 1, column 1 (character 0): Expecting value, near an empty body")
    assert json_error_message(None, {"loc": ("body",)}).startswith("body: invalid JSON: not valid JSON; send")
