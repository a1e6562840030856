"""Initial schema: events, beliefs, populations, activations, api_keys, consent.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("population_version", sa.Integer, nullable=True),
        sa.Column("action", sa.Integer, nullable=False),
        sa.Column("propensity", sa.Float, nullable=False),
        sa.Column("probabilities", sa.JSON, nullable=False),
        sa.Column("features", sa.LargeBinary, nullable=False),
        sa.Column("reward", sa.Float, nullable=True),
        sa.Column("rewarded_at", sa.Float, nullable=True),
        sa.Column("reward_default", sa.Boolean, nullable=False),
        sa.Column("personalised", sa.Boolean, nullable=False),
    )
    op.create_index("ix_events_user", "events", ["user_id", "created_at"])
    op.create_table(
        "beliefs",
        sa.Column("user_id", sa.String(128), primary_key=True),
        sa.Column("population_version", sa.Integer, nullable=False),
        sa.Column("state", sa.LargeBinary, nullable=False),
        sa.Column("n_events", sa.BigInteger, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "populations",
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("meta", sa.JSON, nullable=False),
    )
    op.create_table(
        "activations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("population_version", sa.Integer, sa.ForeignKey("populations.version"), nullable=False),
        sa.Column("activated_at", sa.Float, nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("hash", sa.String(128), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False),
    )
    op.create_table(
        "consent",
        sa.Column("user_id", sa.String(128), primary_key=True),
        sa.Column("opted_out", sa.Boolean, nullable=False),
        sa.Column("erased_at", sa.Float, nullable=True),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    for name in ("consent", "api_keys", "activations", "populations", "beliefs", "events"):
        op.drop_table(name)
