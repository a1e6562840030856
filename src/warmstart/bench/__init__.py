"""The benchmark harnesses behind ``warmstart bench ...``: each writes JSON with its configuration, seed,
version and machine. Imported by the command line only; nothing in the engine imports them."""
