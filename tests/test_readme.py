"""The README's library example runs as written (like river's docstring tests)."""

import re
from pathlib import Path


def test_readme_python_example_runs(tmp_path, monkeypatch):
    text = (Path(__file__).parents[1] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert blocks, "the README should carry a runnable example"
    monkeypatch.chdir(tmp_path)
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {})  # noqa: S102 -- running our own README is the test
    assert (tmp_path / "population.npz").is_file()
