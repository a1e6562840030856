"""Help is shown as written: Typer renders it with rich markup, where text in square brackets that looks like a
style tag ("[f_*]", "[drift]") vanishes unless escaped (`warmstart.cli._common.literal`)."""

from rich.text import Text
from typer.main import get_command
from typer.testing import CliRunner

from warmstart.cli import app


def _help_texts(cmd, path=()):
    yield " ".join(path) or "warmstart", cmd.help or ""
    for param in cmd.params:
        yield f"{' '.join(path)} {param.name}", getattr(param, "help", None) or ""
    for name, sub in getattr(cmd, "commands", {}).items():
        yield from _help_texts(sub, (*path, name))


def test_no_help_text_loses_words_to_markup():
    texts = list(_help_texts(get_command(app)))
    assert len(texts) > 100
    lost = {where: text for where, text in texts if Text.from_markup(text).plain != text.replace("\\[", "[")}
    assert not lost, f"help text read as rich markup (wrap it in literal()): {lost}"


def test_fit_help_shows_the_log_format():
    result = CliRunner().invoke(app, ["fit", "--help"], env={"COLUMNS": "100"}, terminal_width=100)
    shown = " ".join(result.stdout.replace("│", " ").split())
    assert "user, time, item, [f_*], reward, [propensity]" in shown
