"""The command line as GNU shuf reads it (issue #17): getopt's words and abbreviations, shuf's numbers.

``Command`` is a click command whose long options may be cut to any
unambiguous prefix, as getopt allows, and whose usage errors come out as
getopt and shuf word them, in two lines, exit 1 (``Usage``). The rest reads
``-i`` and ``-n`` as shuf's xstrtoumax does, and options given twice as shuf
takes them.
"""

from __future__ import annotations

import os
import sys

import click

from .inputs.sources import NumberRange


def prog() -> str:
    """The name messages are signed with: the command's as invoked, as GNU tools do (installed as
    ``shuf``, ``shuf``), and ``shuffle-big`` when run as ``python -m shuffle_big``."""
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return "shuffle-big" if not name or name.endswith(".py") or name.startswith("python") else name


class Usage(click.UsageError):
    """A usage error as GNU tools report one: ``PROG: what`` and where to read more, exit 1."""

    exit_code = 1

    def show(self, file=None) -> None:
        click.echo(f"{prog()}: {self.format_message()}\nTry '{prog()} --help' for more information.", err=True)


def gnu_usage(err: click.UsageError, ctx: click.Context) -> Usage:
    """Click's parse error in the words of GNU getopt (which coreutils' tests check)."""
    if isinstance(err, Usage):
        return err
    message = err.format_message()
    if isinstance(err, click.NoSuchOption):
        name = err.option_name
        message = f"unrecognized option '{name}'" if name.startswith("--") else f"invalid option -- '{name[1:]}'"
    elif isinstance(err, click.BadOptionUsage):
        name = err.option_name
        if message.endswith("requires an argument."):
            message = f"option '{name}' requires an argument" if name.startswith("--") else f"option requires an argument -- '{name[1:]}'"
        elif message.endswith("does not take a value."):
            message = f"option '{name}' doesn't allow an argument"
    return Usage(message, ctx)


# GNU shuf's long options: an abbreviation that fits one of them and some of ours means shuf's
SHUF_LONG_OPTIONS = frozenset({
    "--echo", "--input-range", "--head-count", "--output", "--random-source", "--repeat", "--zero-terminated",
    "--help", "--version",
})


class Command(click.Command):
    """A click command that reads its command line as getopt does and reports errors in its words."""

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, self._as_written_in_full(ctx, args))
        except click.UsageError as err:
            raise gnu_usage(err, ctx) from None

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as err:  # the checks in ``command``
            raise gnu_usage(err, ctx) from None

    def _as_written_in_full(self, ctx, args: list[str]) -> list[str]:
        """``args`` with each long option abbreviated to an unambiguous prefix written in full (as getopt
        allows: ``--rep``, ``--head=3``), and ``--stats=FORMAT`` split in two: a bare ``--stats`` must
        not swallow the next argument (a FILE), as an option with an optional value would."""
        takes_value: dict[str, bool] = {}
        for param in self.get_params(ctx):
            if isinstance(param, click.Option) and not param.hidden:
                for name in (*param.opts, *param.secondary_opts):
                    takes_value[name] = not (param.is_flag or param.count)
        longs = [name for name in takes_value if name.startswith("--")]
        out: list[str] = []
        value_next = False  # this argument is the value of the option before it
        for i, arg in enumerate(args):
            if value_next or not arg.startswith("-") or arg == "-":
                out.append(arg)
                value_next = False
                continue
            if arg == "--":
                out += args[i:]
                break
            if arg.startswith("--"):
                name, eq, value = arg.partition("=")
                if name not in takes_value:
                    found = [full for full in longs if full.startswith(name)]
                    if len(found) > 1 and len(shufs := [f for f in found if f in SHUF_LONG_OPTIONS]) == 1:
                        found = shufs  # shuf's own option: --head means --head-count there, and here
                    if len(found) > 1:
                        shown = " ".join(f"'{f}'" for f in found)
                        raise Usage(f"option '{name}' is ambiguous; possibilities: {shown}", ctx)
                    name = found[0] if found else name
                if name == "--stats" and eq:
                    if value not in ("text", "json"):
                        raise Usage(f"invalid argument '{value}' for '--stats' (valid arguments: 'text', 'json')", ctx)
                    out += ["--stats", "--stats-format", value]
                    continue
                out.append(name + eq + value)
                value_next = takes_value.get(name, False) and not eq
            else:  # a cluster of short options: the first that takes a value takes the rest, or the next argument
                out.append(arg)
                for k in range(1, len(arg)):
                    if takes_value.get("-" + arg[k]):
                        value_next = k == len(arg) - 1
                        break
        return out


UINTMAX = (1 << 64) - 1  # the largest number shuf reads: -i and -n are uintmax_t there


def gnu_number(text: str) -> int | None:
    """``text`` as GNU's xstrtoumax reads a number: blanks, an optional ``+``, ASCII digits; else None."""
    body = text.lstrip(" \t\n\v\f\r")
    body = body[1:] if body.startswith("+") else body
    return int(body) if body.isascii() and body.isdigit() else None


def number_range(text: str):
    """``-i LO-HI``, read as GNU shuf reads it: at most 2^64 - 1 numbers, each below 2^64; HI = LO - 1 is empty."""
    lo_text, dash, hi_text = text.partition("-")
    lo, hi = gnu_number(lo_text), gnu_number(hi_text)
    if dash and lo is not None and hi is not None:
        if max(lo, hi) > UINTMAX:
            raise click.UsageError(f"invalid input range: '{text}': Value too large for defined data type")
        if lo <= hi + 1 and hi - lo + 1 <= UINTMAX:
            return NumberRange(lo, hi)
    raise click.UsageError(f"invalid input range: '{text}'")


def smallest_count(given: tuple[str, ...]) -> int | None:
    """The smallest ``-n`` given (a count too large for shuf, above 2^64 - 1, is no limit, as there)."""
    counts = []
    for text in given:
        n = gnu_number(text)
        if n is None:
            raise click.UsageError(f"invalid line count: '{text}'")
        if n <= UINTMAX:
            counts.append(n)
    return min(counts) if counts else None


def once(given: tuple[str, ...], message: str) -> str | None:
    """An option that may be repeated with the same value only."""
    if len(set(given)) > 1:
        raise click.UsageError(message)
    return given[0] if given else None
