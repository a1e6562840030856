"""The personalization service: a store on SQLite or PostgreSQL (``store``), and later the HTTP API."""
