"""The `vb` executable: a light front door before the Typer app.

`vb --version` is answered without importing Typer (every script that checks the version, and
every shell prompt that shows it, pays only Python's start). Every other command goes to a
running command server (vbcli/cmdserver) if there is one, else to vbcli.cli.main, with Typer's per-parameter pydantic conversion skipped where it cannot change
the value (see _plain_str_parameters).
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not typing's: every `vb` run would import typing for it
if TYPE_CHECKING:
    from typing import Any


def main() -> None:
    """Console-script entry point (pyproject [project.scripts])."""
    if sys.argv[1:] == ["--version"]:
        from vbcli import __version__

        print(f"vb {__version__}")
        return
    from vbcli.cmdserver import client

    code = client.run(sys.argv[1:])
    if code is not None:
        # The worker wrote and flushed the command's output on our descriptors; all that is
        # left here is Python's own teardown (~4 ms, a sixth of a served command): skip it.
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)
    run_in_process()


def run_in_process() -> None:
    """Run the command in this process (also what a command server's worker runs)."""
    _plain_str_parameters()
    from vbcli.cli import main as cli_main

    cli_main()


def _plain_str_parameters() -> None:
    """Build Typer's per-parameter converters only when a value needs one; pass ASCII text
    straight to plain `str` parameters.

    Typer (0.29) builds a pydantic TypeAdapter for every parameter a command receives, about
    100 ms per command with the pydantic import. Options left out arrive as None, which Typer
    returns before converting; a `str` parameter (no parser, no click type) given ASCII text
    gets that same text back from its adapter. Everything else still takes Typer's own path,
    and if Typer's internals differ from what this expects, nothing is changed.
    """
    try:
        from dataclasses import dataclass

        from typer import core
        from typer._coercion import RuntimeParam, TypeDescriptor
    except ImportError:  # pragma: no cover - another Typer
        return
    build = getattr(core, "build_runtime_param", None)
    if build is None or getattr(build, "_vb_lazy", False) or "_coerce_value" not in vars(RuntimeParam):
        return

    @dataclass(frozen=True)
    class Lazy(RuntimeParam):
        descriptor: Any = None
        plain_str: bool = False

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            if self.plain_str and type(value) is str and value.isascii():
                return value
            return build(self.descriptor)._coerce_value(value, param=param, ctx=ctx)

    def build_runtime_param(descriptor: TypeDescriptor) -> Any:
        info = descriptor.parameter_info
        plain = (descriptor.annotation is str and descriptor.file_annotation is None
                 and getattr(info, "parser", None) is None and getattr(info, "click_type", None) is None)
        return Lazy(parameter_info=info, annotation=descriptor.annotation, descriptor=descriptor, plain_str=plain)

    build_runtime_param._vb_lazy = True  # type: ignore[attr-defined]
    core.build_runtime_param = build_runtime_param  # type: ignore[assignment]
