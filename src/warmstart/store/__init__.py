"""The service's store: decisions, rewards, beliefs, population versions, API keys and consent on SQLite or
PostgreSQL (``store``; its connection and transactions in ``database``, population versions in ``populations``,
API keys in ``api_keys``), its tables (``schema``), group commit (``group_commit``) and its Alembic migrations
(``migrations``). It knows nothing of the HTTP API (``warmstart.service``), which builds on it."""
