"""API keys in the store: a key is ``ws_<id>_<secret>``; only the secret's hash is stored, with the key's scope
(``client`` or ``admin``) and whether it was revoked.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from sqlalchemy import insert, select, update

from warmstart.store import schema as S
from warmstart.store.database import Database

SCOPES = ("client", "admin")


class APIKeys(Database):
    """The store's API keys (``warmstart.store.store.Store`` has these methods): create, check, revoke.

    >>> from warmstart.store.store import Store
    >>> store = Store.open("keys.db")
    >>> key = store.create_api_key("client")
    >>> key[:3], store.key_scope(key), store.key_scope("ws_forged_key"), store.key_scope(key + "x")
    ('ws_', 'client', None, None)
    >>> store.revoke_api_key(key)
    >>> store.key_scope(key) is None
    True
    >>> store.create_api_key("root")
    Traceback (most recent call last):
    ...
    ValueError: scope: expected one of client, admin, got 'root'
    >>> store.close()
    """

    def create_api_key(self, scope: str) -> str:
        """Create a key with ``scope``; return its plaintext, which is not stored (only its hash is)."""
        if scope not in SCOPES:
            raise ValueError(f"scope: expected one of {', '.join(SCOPES)}, got {scope!r}")
        key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        with self._tx() as conn:
            conn.execute(insert(S.api_keys).values(key_id=key_id, hash=_hash(secret), scope=scope,
                                                   created_at=time.time(), revoked=False))
        return f"ws_{key_id}_{secret}"

    def key_scope(self, key: str) -> str | None:
        """The scope of a valid, unrevoked key; None for anything else."""
        parts = key.split("_", 2) if isinstance(key, str) else []
        if len(parts) != 3 or parts[0] != "ws":
            return None
        with self.engine.connect() as conn:
            row = conn.execute(select(S.api_keys.c.hash, S.api_keys.c.scope, S.api_keys.c.revoked)
                               .where(S.api_keys.c.key_id == parts[1])).first()
        if row is None or row.revoked or not hmac.compare_digest(row.hash, _hash(parts[2])):
            return None
        return str(row.scope)

    def revoke_api_key(self, key: str) -> None:
        parts = key.split("_", 2)
        with self._tx() as conn:
            conn.execute(update(S.api_keys).where(S.api_keys.c.key_id == (parts[1] if len(parts) == 3 else ""))
                         .values(revoked=True))


def _hash(secret: str) -> str:
    # keys are 256-bit random secrets, so a plain SHA-256 is enough (no dictionary to guard against)
    return hashlib.sha256(secret.encode()).hexdigest()
