"""warmstart: bootstrap personalized policies for new users from the types of people in a population."""

from warmstart._version import __version__

__all__ = ["__version__"]
