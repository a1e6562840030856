"""``python -m warmstart.cli ...``: the same command line as the ``warmstart`` script."""

from warmstart.cli import main

if __name__ == "__main__":
    main()
