"""The README's library example runs as written (like river's docstring tests), and prints what its comments
say it prints (a `print(...)  # -> TEXT` line prints TEXT)."""

import contextlib
import io
import re
from pathlib import Path


def test_readme_python_example_runs(tmp_path, monkeypatch):
    text = (Path(__file__).parents[1] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert blocks, "the README should carry a runnable example"
    monkeypatch.chdir(tmp_path)
    expected = []
    for code in blocks:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(code, "README.md", "exec"), {})  # noqa: S102 -- running our own README is the test
        for said in re.findall(r"^\s*print\(.*#\s*->\s*(.+?)\s*$", code, flags=re.MULTILINE):
            expected.append(said)
            assert said in printed.getvalue().splitlines(), f"the README says {said!r}; the run printed " \
                                                            f"{printed.getvalue()!r}"
    assert expected, "the README's example should say what it prints"
    assert (tmp_path / "population.npz").is_file()
