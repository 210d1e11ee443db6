"""Regenerate the command help in docs/reference/cli.md from the installed `zen`.

Everything from the line ``<!-- BEGIN GENERATED HELP -->`` to ``<!-- END
GENERATED HELP -->`` is rewritten with the ``--help`` of every command, walked
recursively, at a fixed width. ``--check`` exits 1 if the file is stale, which
the ``docs`` nox session runs so the reference cannot drift from the code.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

BEGIN = "<!-- BEGIN GENERATED HELP -->"
END = "<!-- END GENERATED HELP -->"
DOC = Path(__file__).resolve().parent.parent / "docs" / "reference" / "cli.md"


def _help(cli: object, args: list[str]) -> str:
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, [*args, "--help"], prog_name="zen", terminal_width=100)  # type: ignore[arg-type]
    if result.exit_code != 0:
        raise SystemExit(f"zen {' '.join(args)} --help failed:\n{result.output}")
    return "\n".join(line.rstrip() for line in result.output.splitlines())


def _walk(cli: object) -> list[tuple[list[str], str]]:
    import click

    out: list[tuple[list[str], str]] = []

    def visit(group: click.Group, path: list[str]) -> None:
        ctx = click.Context(group, info_name="zen")
        for name in group.list_commands(ctx):
            cmd = group.get_command(ctx, name)
            if cmd is None or cmd.hidden:
                continue
            out.append(([*path, name], _help(cli, [*path, name])))
            if isinstance(cmd, click.Group):
                visit(cmd, [*path, name])

    out.append(([], _help(cli, [])))
    visit(cli, [])  # type: ignore[arg-type]
    return out


def render() -> str:
    os.environ["ZEN_CONFIG_DIR"] = os.environ.get("ZEN_DOCS_CONFIG_DIR", "/nonexistent/zen-docs")
    from zen_core.cli.main import cli

    parts = [BEGIN]
    current_top = None
    for path, text in _walk(cli):
        top = path[0] if path else ""
        if top != current_top:
            current_top = top
            parts.append(f"\n## `zen{' ' + top if top else ''}`\n")
        parts.append(f"```console\n$ zen {' '.join([*path, '--help'])}\n{text}\n```\n")
    parts.append(END)
    return "\n".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    args = parser.parse_args()
    text = DOC.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{DOC} has no {BEGIN} ... {END} block")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = head + render() + tail
    if args.check:
        if new != text:
            print(f"{DOC} is out of date: run python tools/gen_cli_docs.py", file=sys.stderr)
            return 1
        print(f"{DOC} is up to date")
        return 0
    DOC.write_text(new)
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
