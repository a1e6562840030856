"""Named classes of one kind (bandit policies, tutoring policies): a decorator that adds one, and look-ups."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")
C = TypeVar("C", bound=type)


class Registry(Generic[T]):
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._classes: dict[str, type[T]] = {}

    def register(self, name: str) -> Callable[[C], C]:
        """Class decorator: register the class under ``name`` (and set its ``name`` attribute)."""

        def deco(cls: C) -> C:
            if name in self._classes and self._classes[name] is not cls:
                raise ValueError(f"{self.kind} name {name!r} is already registered by "
                                 f"{self._classes[name].__name__}")
            cls.name = name  # type: ignore[attr-defined]
            self._classes[name] = cls
            return cls

        return deco

    def names(self) -> tuple[str, ...]:
        return tuple(self._classes)

    def get(self, name: str) -> type[T]:
        if name not in self._classes:
            raise ValueError(f"{self.kind}: expected one of {', '.join(sorted(self._classes))}, got {name!r}")
        return self._classes[name]

    def __contains__(self, name: Any) -> bool:
        return name in self._classes
