"""The argument parser of every command: exact option names, short errors that suggest a fix.

argparse's defaults are relaxed where a user pays for it later: a unique prefix such as
`--epoch 3` silently means `--epochs 3`, and a typo prints the whole usage before the error.
`CommandParser` turns prefixes off and reports a mistake in two lines, with the closest valid
names; the usage comes only with `--help`. `add_global_options` puts `-q`, `-v` and
`--threads` on every command too, so they work before or after the command's name.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn

__all__ = ["CommandParser", "add_global_options", "closest", "command_parsers"]

_INVALID_CHOICE = re.compile(r"invalid choice: '(?P<given>[^']*)' \(choose from (?P<choices>.*)\)")
_UNRECOGNIZED = "unrecognized arguments: "


def closest(given: str, valid: Sequence[str], count: int = 3) -> list[str]:
    """The names of valid that look most like given, best first (none when nothing is close)."""
    return difflib.get_close_matches(given, list(valid), n=count, cutoff=0.7)


def _suggest_choice(message: str) -> str:
    """Rewrite argparse's invalid-choice message: the closest names first, then all of them."""
    match = _INVALID_CHOICE.search(message)
    if match is None:
        return message
    choices = [c.strip().strip("'") for c in match["choices"].split(",")]
    near = closest(match["given"], choices)
    head = message[: match.start()]
    hint = f"did you mean {' or '.join(near)}? " if near else ""
    return f"{head}unknown choice {match['given']!r}; {hint}(valid: {', '.join(choices)})"


class CommandParser(argparse.ArgumentParser):
    """An ArgumentParser without prefix matching whose errors are short and suggest names.

    Subcommand parsers made with add_subparsers().add_parser are CommandParsers too.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def option_names(self) -> list[str]:
        """Every option string this parser accepts, such as --epochs."""
        return [name for name in self._option_string_actions if name.startswith("--")]

    def unrecognized(self, extras: Sequence[str]) -> NoReturn:
        """Report arguments nobody accepted, with the closest option names for each."""
        hints = []
        for token in extras:
            name = token.split("=", 1)[0]
            near = closest(name, self.option_names()) if name.startswith("-") else []
            if near:
                hints.append(f"{name}: did you mean {' or '.join(near)}?")
        message = _UNRECOGNIZED + " ".join(extras)
        self.error("; ".join([message, *hints]))

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            # The innermost command that ran knows which options were meant.
            getattr(parsed, "command_parser", self).unrecognized(extras)
        return parsed

    def error(self, message: str) -> NoReturn:
        """Two lines on stderr (what went wrong, where the help is) and exit status 2."""
        sys.stderr.write(f"{self.prog}: error: {_suggest_choice(message)}\n")
        sys.stderr.write(f"see `{self.prog} --help`\n")
        sys.exit(2)


def add_global_options(parser: argparse.ArgumentParser, on_command: bool = False) -> None:
    """-q/--quiet, -v/--verbose and --threads.

    on_command: True for a command's own parser, where the options keep no default, so a value
        given before the command's name is not overwritten by the command's parser
    """
    extra: dict[str, Any] = {"default": argparse.SUPPRESS} if on_command else {}
    volume = parser.add_mutually_exclusive_group()
    volume.add_argument(
        "-q", "--quiet", action="store_true", help="print only the results", **extra
    )
    volume.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also log every few updates of training (by default one line per epoch)",
        **extra,
    )
    parser.add_argument(
        "--threads",
        type=int,
        help="BLAS threads and threads of the conv layers' copies (default: 1 for the small "
        "embedded data sets, where threading only adds overhead; all cores otherwise)",
        **extra,
    )


def command_parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """Every command parser below parser (`train`, `caption`, `caption train`, ...)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                yield sub
                yield from command_parsers(sub)
