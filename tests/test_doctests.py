"""Every example in the package's docstrings runs as written (like river's docstring tests), starting with the
core path in ``warmstart`` and ``warmstart.api``; and every public object of the in-scope modules has one.

What must have an example (``public_objects``, ``missing_examples``): in every module of ``src/warmstart``
whose dotted path has no part starting with ``_``, each public function and class defined there (the names in
``__all__`` if the module has one, else the names not starting with ``_``), and each public method of such a
class. A method is covered by its own example or by its class's example calling it (``.name(``); a method
overriding a base class's is documented at the contract it implements; properties and a record's fields are
covered by the class's example.

Out of scope (``OUT_OF_SCOPE``): the benchmark harnesses (``bench/``, run by their smoke tests), the command
line (``cli/``, run by ``tests/test_cli*.py``), the HTTP service's app and routes (``service/``, run by
``tests/service``) and the Alembic migration scripts. The few in-scope exceptions are in ``ALLOWED``, each
with its reason (``test_the_allow_list_is_needed`` keeps it from going stale). ``python
tests/test_doctests.py`` prints what lacks an example. Examples are small (tiny simulated data, fixed seeds)
so that the file stays fast.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
import re
import types
from pathlib import Path

import pytest

import warmstart

MODULES = sorted(m.name for m in pkgutil.walk_packages(warmstart.__path__, "warmstart.")
                 if not m.name.startswith("warmstart.store.migrations"))

OUT_OF_SCOPE = ("warmstart.bench", "warmstart.cli", "warmstart.service", "warmstart.store.migrations")

# The allow-list: dotted names (a module, or an object and its methods) without an example, and why.
ALLOWED: dict[tuple[str, ...], str] = {
    ("warmstart.families.linear.backend.RayBackend",): "starts a Ray cluster (seconds); "
                                                       "tests/families/linear/test_backend*.py run it",
    ("warmstart.peers.pybkt.start_pybkt", "warmstart.peers.pybkt.run_pybkt", "warmstart.peers.pybkt.PyBKTRun",
     "warmstart.peers.pybkt.PyBKTResult"): "need pyBKT's own virtualenv (make pybkt-venv); tests/peers run "
                                           "them",
    ("warmstart.sim.tutoring.tutoring_data", "warmstart.sim.tutoring.tutoring_population",
     "warmstart.sim.tutoring.tutoring_single_type"):
        "read (and fit on) the ASSISTments 2009 files: the data set and seconds; tests/sim/test_tutoring.py",
}


def _with_examples() -> list[str]:
    """The modules with an example that runs (``warmstart.client``'s module example needs a server and is
    marked to skip; its classes' examples run against a stand-in transport)."""
    out = []
    for name in ["warmstart", *MODULES]:
        spec = importlib.util.find_spec(name)
        lines = Path(spec.origin).read_text().splitlines() if spec is not None and spec.origin else []
        if any(">>>" in line and "doctest: +SKIP" not in line for line in lines):
            out.append(name)
    return out


@pytest.mark.parametrize("name", _with_examples())
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(importlib.import_module(name), optionflags=flags)
    assert result.attempted > 0 and result.failed == 0


# --- which public objects have an example --------------------------------------------------------------

def in_scope_modules() -> list[str]:
    """The public modules whose public objects must have an example (``OUT_OF_SCOPE`` left out)."""
    return [name for name in ["warmstart", *MODULES]
            if not any(name == out or name.startswith(out + ".") for out in OUT_OF_SCOPE)
            and not any(p.startswith("_") for p in name.split("."))]


def _has_example(obj: object) -> bool:
    """Whether ``obj``'s own docstring (not one inherited) has an example."""
    return any(line.lstrip().startswith(">>>") for line in (obj.__doc__ or "").splitlines())


def _example_code(obj: object) -> str:
    """The code lines of ``obj``'s docstring examples (``>>>`` and ``...`` continuations)."""
    lines = (obj.__doc__ or "").splitlines()
    return "\n".join(line for line in lines if line.lstrip().startswith((">>>", "... ")))


def _public_names(module: types.ModuleType) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    return sorted(n for n in names if not n.startswith("_"))


def _methods(cls: type) -> list[tuple[str, object]]:
    """``cls``'s public methods defined in its own body (properties and fields are the class's example's)."""
    out = []
    for name, value in vars(cls).items():
        func = value.__func__ if isinstance(value, classmethod | staticmethod) else value
        if name.startswith("_") or not inspect.isfunction(func):
            continue
        if any(name in vars(base) for base in cls.__mro__[1:] if base is not object):
            continue  # an implementation of a base class's method: documented at the contract
        out.append((name, func))
    return out


def public_objects(module: types.ModuleType) -> list[tuple[str, bool]]:
    """``module``'s public functions, classes and methods by dotted name, each with whether it has an
    example."""
    out = []
    for name in _public_names(module):
        obj = getattr(module, name, None)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)) or obj.__module__ != module.__name__:
            continue  # imported from elsewhere (checked where it is defined), or not a function or class
        qualname = f"{module.__name__}.{name}"
        out.append((qualname, _has_example(obj)))
        if inspect.isclass(obj):
            class_code = _example_code(obj)
            for method, func in _methods(obj):
                called = re.search(rf"\.{method}\(", class_code) is not None
                out.append((f"{qualname}.{method}", _has_example(func) or called))
    return out


def missing_examples(module: types.ModuleType) -> list[str]:
    """The dotted names of ``module``'s public functions, classes and methods without a docstring example."""
    return [qualname for qualname, has in public_objects(module) if not has]


def _allowed(qualname: str) -> bool:
    return any(qualname == p or qualname.startswith(p + ".") for prefixes in ALLOWED for p in prefixes)


def all_missing() -> list[str]:
    """Every in-scope public object without an example, the allow-list included."""
    return [q for name in in_scope_modules() for q in missing_examples(importlib.import_module(name))]


def test_every_public_object_has_an_example():
    """The completeness check: every in-scope public function, class and method has an example, but the
    allow-list's (``python tests/test_doctests.py`` lists what is missing)."""
    missing = [q for q in all_missing() if not _allowed(q)]
    assert not missing, f"{len(missing)} public objects without a docstring example: {missing}"


def test_the_allow_list_is_needed():
    """Every allow-list entry still names something without an example (a stale entry is removed)."""
    found = all_missing()
    for prefixes in ALLOWED:
        for prefix in prefixes:
            stale = not any(q == prefix or q.startswith(prefix + ".") for q in found)
            assert not stale, f"{prefix}: has examples now; remove it from ALLOWED"


def test_the_core_path_has_examples():
    from warmstart import api

    for fn in (api.fit_population, api.load_population, api.make_policy, warmstart.load_events,
               warmstart.load_log, warmstart.summarise_log):
        assert ">>>" in (fn.__doc__ or ""), f"{fn.__name__} has no example"


_PLANTED = '''
"""A module planted for the checker."""

__all__ = ["Record", "documented", "undocumented"]


def documented(x):
    """Twice ``x``.

    >>> documented(2)
    4
    """
    return 2 * x


def undocumented(x):
    """Three times ``x``, no example."""
    return 3 * x


def not_exported():
    """Not in ``__all__``."""


class Record:
    """A record.

    >>> Record().shown()
    1
    """

    def shown(self):
        return 1

    def hidden(self):
        """Not called by the class's example and no example of its own."""

    def _private(self):
        pass

    @property
    def field(self):
        return 0


class Sub(Record):
    pass
'''


def test_the_scope():
    scope = in_scope_modules()
    assert {"warmstart", "warmstart.api", "warmstart.client", "warmstart.stats"} <= set(scope)
    assert not any(m.startswith(("warmstart.cli.", "warmstart.bench.", "warmstart.service.")) for m in scope)
    assert "warmstart.cli" not in scope and "warmstart.data._columns" not in scope


def test_the_checker_finds_what_has_no_example(tmp_path):
    (tmp_path / "planted.py").write_text(_PLANTED)
    spec = importlib.util.spec_from_file_location("planted", tmp_path / "planted.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert missing_examples(module) == ["planted.Record.hidden", "planted.undocumented"]
    module.__all__ = [*module.__all__, "Sub"]
    assert "planted.Sub" in missing_examples(module)  # a subclass inherits the methods, not the example


if __name__ == "__main__":
    objects = [row for name in in_scope_modules() for row in public_objects(importlib.import_module(name))]
    found = [qualname for qualname, has in objects if not has]
    for qualname in found:
        print(qualname, "(allowed)" if _allowed(qualname) else "")
    print(f"{len(objects)} public objects in scope, {len(found)} without an example, "
          f"{sum(not _allowed(q) for q in found)} of them not allowed")
