"""Write the man page docs/watcher.1 from the CLI's own help texts.

    .venv/bin/python scripts/manpage.py            # rewrite docs/watcher.1
    .venv/bin/python scripts/manpage.py --check    # exit 1 when docs/watcher.1 is stale

The help texts are the one source: tests/test_docs_complete.py fails when the committed page
no longer matches them. Install it with `install -Dm644 docs/watcher.1
~/.local/share/man/man1/watcher.1` (then `man watcher`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from watcher import __version__
from watcher.cli.main import cli

PAGE = Path(__file__).resolve().parent.parent / "docs" / "watcher.1"


def _roff(text: str) -> str:
    """Text safe in a roff line: backslashes doubled, a leading dot or quote escaped."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + text if text.startswith((".", "'")) else text


def _paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in text.split("\n\n") if p.strip()]


def _options(command: click.Command, ctx: click.Context) -> list[str]:
    lines: list[str] = []
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None:
            continue
        names, help_text = record
        lines += [".TP", f"\\fB{_roff(names)}\\fR", _roff(" ".join(help_text.split()))]
    return lines


def render(group: click.Group = cli) -> str:
    """The whole page: name, synopsis, the group's options, then one section per command."""
    root = click.Context(group, info_name="watcher", **group.context_settings)
    lines = [
        f'.TH WATCHER 1 "" "followup-watcher {__version__}" "User Commands"',
        ".SH NAME",
        "watcher \\- " + _roff(_paragraphs(group.help or "")[0].split(": ", 1)[-1]),
        ".SH SYNOPSIS",
        "\\fBwatcher\\fR [\\fIOPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]...",
        ".SH OPTIONS",
        *_options(group, root),
        ".SH COMMANDS",
    ]
    for name in sorted(group.commands):
        command = group.commands[name]
        ctx = click.Context(command, info_name=name, parent=root)
        usage = " ".join(command.collect_usage_pieces(ctx))
        lines += [f".SS watcher {name} {_roff(usage)}".rstrip()]
        for paragraph in _paragraphs(command.help or ""):
            lines += [_roff(paragraph), ".PP"]
        lines += _options(command, ctx)
    lines += [
        ".SH SHELL COMPLETION",
        "Bash: add",
        '\\fBeval "$(_WATCHER_COMPLETE=bash_source watcher)"\\fR',
        "to ~/.bashrc; zsh: \\fBzsh_source\\fR in ~/.zshrc; fish: "
        "\\fB_WATCHER_COMPLETE=fish_source watcher | source\\fR in "
        "~/.config/fish/completions/watcher.fish.",
        ".SH FILES",
        ".TP",
        "\\fI~/.config/followup\\-watcher/config.toml\\fR",
        "The config file ($WATCHER_CONFIG or \\fB\\-\\-config\\fR override it).",
        ".TP",
        "\\fI~/.local/state/followup\\-watcher/\\fR",
        "The store ($STATE_DIRECTORY under systemd; \\fBstate_dir\\fR overrides it).",
        ".SH EXIT STATUS",
        "0 success, 1 an account or operation failed, 2 the config or an argument is unusable.",
        ".SH SEE ALSO",
        "The README of followup\\-watcher, and config.example.toml.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if argv[1:] == ["--check"]:
        current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
        if current != text:
            print(f"{PAGE} is stale: run .venv/bin/python scripts/manpage.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
