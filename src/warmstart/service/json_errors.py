"""The message of a request body that is not JSON: where it breaks (line, column, the text around it), what the
parser expected there, and how to fix the usual causes; not a bare character offset."""

from __future__ import annotations

from typing import Any

#: the usual causes of a body that does not parse, in the order people hit them
HINT = ("send a JSON object with Content-Type: application/json; keys and strings take double quotes, no trailing "
        "commas, no comments, numbers without quotes (NaN and Infinity are not JSON)")


def json_error_message(body: Any, error: dict[str, Any]) -> str:
    """``error`` is FastAPI's ``json_invalid`` entry (``loc = ("body", offset)``, ``ctx.error`` the parser's
    message) and ``body`` the text it could not parse."""
    loc: tuple[Any, ...] = tuple(error.get("loc") or ())
    pos = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
    what = str((error.get("ctx") or {}).get("error") or "not valid JSON")
    text = body.decode("utf-8", "replace") if isinstance(body, bytes | bytearray) else body
    if not isinstance(text, str) or pos is None:
        return f"body: invalid JSON: {what}; {HINT}"
    pos = max(0, min(pos, len(text)))
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    before, after = text[max(0, pos - 20) : pos], text[pos : pos + 20]
    near = f"{before!r} <here> {after!r}" if text else "an empty body"
    return f"body: invalid JSON at line {line}, column {column} (character {pos}): {what}, near {near}; {HINT}"
