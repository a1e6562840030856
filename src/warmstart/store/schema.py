"""The service's tables (SQLAlchemy Core), one definition for SQLite and PostgreSQL.

- ``events``: the append-only decision log. One row per ranked decision, keyed by its event id (idempotent
  inserts), with the chosen action, the probability and features of every candidate (so that off-policy
  estimates of another policy can be made from it later), and the reward once it arrives.
- ``beliefs``: each user's belief as versioned bytes (``warmstart.families.linear.belief``), with a row ``version`` that every
  write must name (optimistic concurrency: two workers never overwrite each other's update).
- ``populations`` and ``activations``: every fitted population version (stored bytes and metadata) and the
  history of which one was active when.
- ``shadow_decisions``: what a population running in shadow would have chosen for a served event (logged,
  not served), to compare it with the active one offline (migration 0002).
- ``api_keys``: hashed keys with a scope (``client`` or ``admin``); the plaintext is shown once at creation.
- ``consent``: per-user opt-out and erasure flags.

The schema is created and upgraded by Alembic migrations (``warmstart/store/migrations``), never by
``create_all``, so that a deployed database can be moved forward version by version.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

events = Table(
    "events",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("user_id", String(128), nullable=False),
    Column("created_at", Float, nullable=False),  # seconds since the epoch, UTC
    Column("population_version", Integer, nullable=True),  # None: the non-personalised policy served
    Column("action", Integer, nullable=False),
    Column("propensity", Float, nullable=False),
    Column("probabilities", JSON, nullable=False),
    Column("features", LargeBinary, nullable=False),  # chosen action's features, little-endian float64
    # every candidate's features, (n_actions, d) little-endian float64 (migration 0003; None on older events)
    Column("candidates", LargeBinary, nullable=True),
    Column("reward", Float, nullable=True),
    Column("rewarded_at", Float, nullable=True),
    Column("reward_default", Boolean, nullable=False, default=False),
    Column("personalised", Boolean, nullable=False),
)
Index("ix_events_user", events.c.user_id, events.c.created_at)

beliefs = Table(
    "beliefs",
    metadata,
    Column("user_id", String(128), primary_key=True),
    Column("population_version", Integer, nullable=False),
    Column("state", LargeBinary, nullable=False),
    Column("n_events", BigInteger, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("updated_at", Float, nullable=False),
)

populations = Table(
    "populations",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=True),
    Column("created_at", Float, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("data", LargeBinary, nullable=False),  # the population's own versioned .npz bytes
    Column("meta", JSON, nullable=False),
)

activations = Table(
    "activations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("population_version", Integer, ForeignKey("populations.version"), nullable=False),
    Column("activated_at", Float, nullable=False),
    Column("mode", String(16), nullable=False),  # "active" or "shadow"
    Column("note", Text, nullable=False, default=""),
)

shadow_decisions = Table(
    "shadow_decisions",
    metadata,
    Column("event_id", String(64), ForeignKey("events.event_id", ondelete="CASCADE"), primary_key=True),
    Column("population_version", Integer, nullable=False),
    Column("action", Integer, nullable=False),
    Column("probabilities", JSON, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("hash", String(128), nullable=False),
    Column("scope", String(16), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
)

consent = Table(
    "consent",
    metadata,
    Column("user_id", String(128), primary_key=True),
    Column("opted_out", Boolean, nullable=False),
    Column("erased_at", Float, nullable=True),
    Column("updated_at", Float, nullable=False),
)
