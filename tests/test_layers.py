"""The layering rules of docs/architecture.md, checked on every module's imports (read with ``ast``: lazy imports
inside functions and imports under ``TYPE_CHECKING`` count too), and a test of the checker itself."""

from __future__ import annotations

import ast
import functools
import textwrap
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

#: modules every layer may import: validation, atomic writes, the registry helper, shared statistics
BASE = frozenset({"_cluster", "_io", "_kernels", "_persist", "_record", "_registry", "_validate", "_version", "stats", "testing"})
ENGINE = frozenset({"data", "families", "policies", "ope", "store", "service"})
#: what each top-level part of the package may import besides itself and BASE (docs/architecture.md)
ALLOWED: dict[str, frozenset[str]] = {
    **{name: frozenset() for name in BASE},
    "data": frozenset(),
    "families": frozenset({"data"}),
    "policies": frozenset({"data", "families"}),
    "ope": frozenset({"data"}),
    "peers": frozenset({"data"}),
    "store": frozenset(),
    "service": frozenset({"data", "families", "policies", "ope", "store", "governance"}),
    "sim": frozenset({"data", "families"}),
    "governance": frozenset({"data", "families", "policies", "ope"}),
    "report": frozenset(),
    "client": frozenset(),
    "bench": frozenset({"data", "families", "policies", "ope", "store", "service", "sim", "governance", "peers"}),
    "cli": frozenset({"data", "families", "policies", "ope", "store", "service", "sim", "governance", "peers",
                      "bench", "report"}),
    # the public API: its functions (api.py) use the engine's core; the package root names them and the
    # simulators (``ws.sim``, imported on first use), never the benchmarks, the service or the command line
    "api": frozenset({"data", "families", "policies"}),
    "": frozenset({"api", "data", "families", "policies", "sim"}),
}


def module_name(path: Path, root: Path) -> str:
    """``root/families/linear/fit.py`` -> ``warmstart.families.linear.fit`` (``root`` is the package folder)."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, name: str, modules: set[str]) -> list[tuple[int, str, str]]:
    """``(line, imported module, source text)`` for every import of the package in the file at ``path``."""
    source = path.read_text()
    tree = ast.parse(source, filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    top = name.split(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            # ``from warmstart.policies import mixture`` imports the submodule
            targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in modules else mod for a in node.names]
        else:
            continue
        text = " ".join((ast.get_source_segment(source, node) or "").split())
        found += [(node.lineno, t, text) for t in dict.fromkeys(targets) if t == top or t.startswith(top + ".")]
    return found


def part_of(module: str) -> str:
    """The top-level part a module belongs to: ``warmstart.families.linear.fit`` -> ``families``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def family_of(module: str, root: Path) -> str | None:
    """The family a module belongs to (a folder in ``families/``), or None: ``families/protocol.py`` and the
    other modules beside the folders are shared by every family."""
    parts = module.split(".")
    is_family = len(parts) > 2 and parts[1] == "families" and (root / "families" / parts[2]).is_dir()
    return parts[2] if is_family else None


@functools.cache
def scan(root: Path) -> tuple[dict[str, Path], dict[str, list[tuple[int, str, str]]]]:
    files = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    names = set(files)
    return files, {name: imports_of(path, name, names) for name, path in files.items()}


def violations(root: Path) -> list[str]:
    """Every import that breaks a layering rule, as ``file:line: import text: why``."""
    files, graph = scan(root)
    out = []
    for name, edges in graph.items():
        src = part_of(name)
        allowed = ALLOWED.get(src)
        for line, target, text in edges:
            dst = part_of(target)
            where = f"{files[name].relative_to(root)}:{line}: `{text}`"
            if allowed is None:
                out.append(f"{where}: {src or 'the package root'} is not in the layering table (tests/test_layers.py)")
                break
            if dst in (src, *BASE) or dst in allowed:
                fam, other = family_of(name, root), family_of(target, root)
                if fam and other and fam != other:
                    out.append(f"{where}: the family {fam!r} imports the family {other!r}; families are "
                               "independent (shared pieces go to the base modules)")
                continue
            out.append(f"{where}: {src or 'the package root'} may import "
                       f"{', '.join(sorted(allowed)) or 'only the base modules'} (and the base modules), not {dst}")
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def node_of(module: str, root: Path) -> str:
    """A node of the graph between parts: the top-level part; in ``families/``, each family (a folder) and each
    shared module (``families.protocol``) on its own."""
    parts = module.split(".")
    if parts[1:2] == ["families"] and len(parts) > 2:
        family = family_of(module, root)
        return f"families.{family or parts[2]}"
    return part_of(module)


def part_graph(root: Path) -> dict[str, set[str]]:
    _, graph = scan(root)
    parts: dict[str, set[str]] = defaultdict(set)
    for name, edges in graph.items():
        src = node_of(name, root)
        for _, target, _ in edges:
            dst = node_of(target, root)
            if dst != src and src and dst:
                parts[src].add(dst)
    return parts


# ---------------------------------------------------------------------------------------------- the package
def test_every_import_follows_the_layers():
    assert violations(SRC / "warmstart") == []


def test_no_import_cycle_between_parts():
    assert cycles(part_graph(SRC / "warmstart")) == []


# ---------------------------------------------------------------------------------------------- the checker
def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "warmstart"
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


CLEAN = {
    "__init__.py": "from warmstart.families.linear.fit import fit\n",
    "_validate.py": "",
    "data/__init__.py": "",
    "data/events.py": "from warmstart._validate import check\n",
    "families/__init__.py": "",
    "families/linear/__init__.py": "",
    "families/linear/fit.py": "from warmstart.data.events import EventData\nfrom . import model\n",
    "families/linear/model.py": "",
    "families/learner/__init__.py": "",
    "policies/__init__.py": "from warmstart.policies import mixture\n",
    "policies/mixture.py": "from warmstart.families.linear import fit\n",
    "sim/__init__.py": "from warmstart.families.linear.model import x\n",
    "bench/__init__.py": "from warmstart.sim import y\nfrom warmstart.policies import mixture\n",
}


def test_checker_passes_a_clean_tree(tmp_path):
    root = _tree(tmp_path, CLEAN)
    assert violations(root) == []
    assert cycles(part_graph(root)) == []


@pytest.mark.parametrize("rel, text, expected", [
    ("policies/planning.py", "from warmstart.sim.satiation import SatiationDynamics\n",
     ("policies/planning.py:1: `from warmstart.sim.satiation import SatiationDynamics`: policies may import "
      "data, families (and the base modules), not sim")),
    ("families/linear/belief.py", "def f():\n    from warmstart.policies import mixture\n",
     "families/linear/belief.py:2: `from warmstart.policies import mixture`: families may import data"),
    ("data/events.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import warmstart.sim\n",
     "data/events.py:3: `import warmstart.sim`: data may import only the base modules"),
    ("families/learner/fit.py", "from ..linear.model import Summary\n",
     "the family 'learner' imports the family 'linear'"),
    ("__init__.py", "from warmstart.bench import coldstart\n", "the package root may import"),
    ("newpart/x.py", "from warmstart.data import events\n", "newpart is not in the layering table"),
])
def test_checker_names_the_offending_import(tmp_path, rel, text, expected):
    root = _tree(tmp_path, {**CLEAN, rel: text})
    found = violations(root)
    assert len(found) == 1 and expected in found[0], found


def test_checker_finds_a_cycle_between_parts(tmp_path):
    root = _tree(tmp_path, {**CLEAN, "data/kt.py": "from warmstart.families.linear.fit import fit\n"})
    assert any("data" in c and "families.linear" in c for c in cycles(part_graph(root)))
