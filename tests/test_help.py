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


@pytest.mark.parametrize(("argv", "name"), [
    (["positions", "list"], "positions"),
    (["--db", "ledger.sqlite", "trades", "add", "AAPL"], "trades"),
    (["--db=ledger.sqlite", "evaluate", "AAPL"], "evaluate"),
    (["--db", "--help", "positions"], "positions"),  # --db's value, however it looks
    ([], None), (["--help"], None), (["-h", "positions"], None), (["--version"], None), (["--colour", "positions"], None),
])
def test_an_in_process_run_builds_only_the_branch_it_runs(argv, name):
    """`vb positions list` without the server builds the positions branch alone (~5 ms, not
    ~40); anything addressed to the root itself gets the whole tree, so its help and its
    "No such command" suggestions still see every command."""
    from vbcli import cli

    assert cli.named_command(argv) == name
    cli.command.cache_clear()  # as in a fresh process
    tree = cli.command_for(argv)
    whole = typer.main.get_command(app)
    if name is None:
        assert sorted(tree.commands) == sorted(whole.commands)
    else:
        assert sorted(tree.commands) == [name]
        branch, full = tree.commands[name], whole.commands[name]
        assert sorted(getattr(branch, "commands", {})) == sorted(getattr(full, "commands", {}))
        assert [p.name for p in branch.params] == [p.name for p in full.params]
    built = cli.command()  # a process that has the whole tree (a command server) uses it
    assert cli.command_for(argv) is built


def test_a_branch_tree_gives_the_whole_tree_s_errors():
    """A typo below a command and a typo of the command itself read as they always did."""
    env = {"VB_SERVER": "off", "PATH": "/usr/bin:/bin"}
    for argv, expected in ((["positions", "lst"], "vb: No such command 'lst'. Did you mean 'list', 'set'? (see `vb positions --help`).\n"),
                           (["posit", "list"], "vb: No such command 'posit'. Did you mean 'positions'? (see `vb --help`).\n")):
        done = subprocess.run([sys.executable, "-m", "vbcli", *argv], capture_output=True, text=True, env=env, timeout=60)
        assert (done.returncode, done.stdout, done.stderr) == (2, "", expected)
