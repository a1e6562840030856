"""The personalization service: the HTTP API (``app``, its routers and dashboard) on the store of
``warmstart.store``."""
