"""Every command explains itself with an example, the README names every command group, and
`vb --help` stays light (no database libraries imported)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from vbcli.cli import app

README = Path(__file__).resolve().parent.parent / "README.md"
# "Example: vb …", also with environment settings first ("Example: APP_AUTO_CREATE=false vb db upgrade").
EXAMPLE = re.compile(r"^Example: ([A-Z_]+=\S+ )*vb \S")


def command_paths() -> list[list[str]]:
    """Every command path of the tree, groups included: [], ["positions"], ["positions", "add"], …"""
    paths: list[list[str]] = []

    def walk(command, path: list[str]) -> None:  # type: ignore[no-untyped-def]
        paths.append(path)
        if hasattr(command, "list_commands"):  # a group (Typer ships its own Click)
            for name in command.list_commands(None):
                walk(command.get_command(None, name), [*path, name])

    walk(typer.main.get_command(app), [])
    return paths


def test_the_tree_holds_the_core_commands():
    names = {" ".join(p) for p in command_paths()}
    for noun, verbs in {"portfolios": "add list show remove", "positions": "add list show set deposit withdraw close",
                        "orders": "place list show cancel fill", "trades": "add list show void", "events": "list",
                        "db": "path info upgrade"}.items():
        for verb in verbs.split():
            assert f"{noun} {verb}" in names


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "vb")
def test_every_command_has_help_with_an_example(path):
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    lines = [line.strip().strip("│").strip() for line in result.stdout.splitlines()]
    assert any(EXAMPLE.match(line) for line in lines), f"`vb {' '.join(path)} --help` has no 'Example: vb …' line"


def test_readme_mentions_every_top_level_command():
    text = README.read_text(encoding="utf-8")
    top = sorted({p[0] for p in command_paths() if len(p) == 1})
    missing = [name for name in top if f"vb {name}" not in text]
    assert missing == [], f"README.md does not mention: {', '.join('vb ' + m for m in missing)}"


def test_importing_the_cli_imports_no_database_library():
    code = ("import sys, vbcli.cli; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'sqlmodel', 'alembic', 'psycopg', 'fastapi', 'uvicorn'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
