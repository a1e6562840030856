"""The code stays lint- and type-clean: ruff and mypy run as part of the suite (and so in CI)."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def _tool(name: str) -> str:
    found = Path(sys.executable).with_name(name)
    return str(found) if found.exists() else (shutil.which(name) or name)


def test_ruff_is_clean():
    proc = subprocess.run([_tool("ruff"), "check", "src", "tests", "benchmarks"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_is_clean():
    proc = subprocess.run([sys.executable, "-m", "mypy", "src/warmstart"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ---------------------------------------------------------------------------------------------- sizes
SRC = ROOT / "src" / "warmstart"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80

#: what may stay over the limits, and why: a module (its path under src/warmstart) or a function
#: (``path::name``, a method ``path::Class.name``, a nested function ``path::outer.inner``)
SIZE_EXCEPTIONS: dict[str, str] = {
}


def oversized(root: Path, max_module: int = MAX_MODULE_LINES, max_function: int = MAX_FUNCTION_LINES
              ) -> dict[str, int]:
    """Every module under ``root`` longer than ``max_module`` lines (``wc -l``) and every function, method or
    nested function longer than ``max_function`` lines (``def`` to its last line, decorators left out), by
    ``SIZE_EXCEPTIONS``' keys, with its length."""
    found: dict[str, int] = {}

    def visit(node: ast.AST, path: str, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                length = (child.end_lineno or child.lineno) - child.lineno + 1
                if not isinstance(child, ast.ClassDef) and length > max_function:
                    found[f"{path}::{name}"] = length
                visit(child, path, f"{name}.")
            else:
                visit(child, path, prefix)

    for file in sorted(root.rglob("*.py")):
        path = file.relative_to(root).as_posix()
        source = file.read_text()
        if len(source.splitlines()) > max_module:
            found[path] = len(source.splitlines())
        visit(ast.parse(source, filename=str(file)), path, "")
    return found


def test_module_and_function_sizes():
    """No module over 500 lines and no function over 80, but ``SIZE_EXCEPTIONS``' (each with its reason)."""
    over = [f"{key} ({n} lines)" for key, n in oversized(SRC).items() if key not in SIZE_EXCEPTIONS]
    assert not over, (f"over {MAX_MODULE_LINES} lines a module or {MAX_FUNCTION_LINES} a function (split it, or "
                      f"add it to SIZE_EXCEPTIONS with the reason): {', '.join(over)}")


def test_size_exceptions_are_needed():
    """Every exception still names something over its limit (a stale entry is removed)."""
    stale = sorted(set(SIZE_EXCEPTIONS) - set(oversized(SRC)))
    assert not stale, f"within the limits now; remove from SIZE_EXCEPTIONS: {', '.join(stale)}"


def test_the_size_check_names_what_is_too_long(tmp_path):
    def function(name: str, lines: int, indent: str = "") -> str:
        body = "".join(f"{indent}    x{i} = {i}\n" for i in range(lines - 2))
        return f"{indent}def {name}():\n{body}{indent}    return 0\n"

    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "short.py").write_text(
        function("fits", 80) + function("too_long", 81)
        + "class Thing:\n" + function("method", 81, indent="    ")
        + "def outer():\n" + function("inner", 90, indent="    ") + "    return inner\n")
    (tmp_path / "big.py").write_text("x = 1\n" * 501)
    (tmp_path / "fine.py").write_text("x = 1\n" * 500)
    assert oversized(tmp_path) == {"big.py": 501, "pkg/short.py::too_long": 81, "pkg/short.py::Thing.method": 81,
                                   "pkg/short.py::outer": 92, "pkg/short.py::outer.inner": 90}
