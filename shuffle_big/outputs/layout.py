"""Which output file each record of the permutation goes to: splits, then shards (issue #14).

The permutation's M records are cut into consecutive splits (``--split
valid=10000,test=0.5%,train=rest``), in the order given, so each split is
itself uniformly shuffled and the splits are a uniform random partition;
each split (or the whole output, without splits) is then cut into
consecutive shards: ``--shards N`` files of near-equal count,
``--shard-lines N`` files of N records (the last may hold fewer), or
``--shard-size SIZE`` files of at most SIZE bytes of records, filled in
turn as ``split -C`` fills them (``shards.SizedShards``; which record goes
where then depends on the records' lengths, not only on their count). Every file
is a run of consecutive records, so the files concatenated in order are the
single output. Names come from ``-o``: ``{split}`` and ``{i}`` (the shard
number within its split, from 0) in it, or a directory for shards alone.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from fractions import Fraction

from ..errors import ShuffleError

_NAME = re.compile(r"[A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class Split:
    """One part of ``--split``: ``count`` records, or ``percent`` of all (rounded down), or the rest."""

    name: str
    count: int | None = None
    percent: Fraction | None = None

    @property
    def rest(self) -> bool:
        return self.count is None and self.percent is None

    def __str__(self) -> str:
        """As ``--split`` spells it: ``valid=1000``, ``test=0.5%``, ``train=rest``."""
        if self.percent is not None:
            p = self.percent
            return f"{self.name}={p.numerator if p.denominator == 1 else float(p)}%"
        return f"{self.name}={'rest' if self.count is None else self.count}"


def parse_splits(text: str) -> tuple[Split, ...]:
    """``NAME=AMOUNT,...``: AMOUNT a record count (``10000``), a percentage (``0.5%``) or ``rest`` (once).

    Raises ValueError with what is wrong, for a usage error.
    """
    splits = []
    for part in text.split(","):
        name, eq, amount = part.strip().partition("=")
        amount = amount.strip()
        if not eq or not _NAME.fullmatch(name):
            raise ValueError(f"'{part}' is not NAME=AMOUNT (a name of letters, digits, '_', '.' or '-')")
        if amount == "rest":
            splits.append(Split(name))
        elif amount.endswith("%"):
            try:
                percent = Fraction(amount[:-1])
            except (ValueError, ZeroDivisionError):
                raise ValueError(f"'{amount}' is not a percentage") from None
            if not 0 <= percent <= 100:
                raise ValueError(f"'{amount}' is not between 0% and 100%")
            splits.append(Split(name, percent=percent))
        elif amount.isascii() and amount.isdigit():
            splits.append(Split(name, count=int(amount)))
        else:
            raise ValueError(f"'{amount}' is not a line count, a percentage or 'rest'")
    names = [s.name for s in splits]
    if len(set(names)) != len(names):
        raise ValueError("a split name is given twice")
    if sum(s.rest for s in splits) > 1:
        raise ValueError("'rest' may be given once")
    return tuple(splits)


def split_sizes(splits: tuple[Split, ...], total: int) -> list[int]:
    """Records in each split of ``total``: counts as given, percentages rounded down, the rest what is left."""
    sizes = [s.count if s.count is not None else int(s.percent * total / 100) if s.percent is not None else 0 for s in splits]
    taken = sum(sizes)
    if taken > total:
        raise ShuffleError(f"--split asks for {taken} lines in all, more than the {total} there are")
    return [total - taken if s.rest else size for s, size in zip(splits, sizes)]


def shard_sizes(records: int, count: int) -> list[int]:
    """Records in each of ``count`` shards: as equal as whole records allow, the larger ones last."""
    base, extra = divmod(records, count)
    return [base + (i >= count - extra) for i in range(count)]


def sharded(records: int, shards: int | None, lines: int | None) -> list[int]:
    """Records in each shard of a run of ``records``: ``shards`` near-equal ones, or ``lines`` each and
    what is left in the last (one empty shard for no records); one shard if neither is given."""
    if shards is not None:
        return shard_sizes(records, shards)
    if lines is not None:
        full, left = divmod(records, lines)
        return [lines] * full + ([left] if left or not full else [])
    return [records]


@dataclass(frozen=True)
class OutputFile:
    path: str
    split: str | None
    records: int


def sharding_options(shards: int | None, shard_lines: int | None, shard_size: int | None) -> list[str]:
    """The sharding options given, by their names on the command line (at most one may be)."""
    given = {"--shards": shards, "--shard-lines": shard_lines, "--shard-size": shard_size}
    return [name for name, value in given.items() if value is not None]


@dataclass(frozen=True)
class Layout:
    """How ``-o``, ``--split``, ``--shards`` and ``--shard-lines`` lay the output out in files."""

    pattern: str
    splits: tuple[Split, ...] | None = None
    shards: int | None = None
    shard_lines: int | None = None
    shard_size: int | None = None

    def __post_init__(self) -> None:
        self.name(self.splits[0].name if self.splits else None, 0)  # a bad pattern fails before any input is read

    @property
    def sharded(self) -> bool:
        return self.shards is not None or self.shard_lines is not None or self.shard_size is not None

    def name(self, split: str | None, i: int) -> str:
        """The file name of shard ``i`` of ``split``."""
        pattern = self.pattern
        if split is None and (os.path.isdir(pattern) or pattern.endswith("/")):
            pattern = os.path.join(pattern, "part-{i:05d}")
        if split is not None and "{split" not in pattern:
            raise ShuffleError(f"--split needs -o to name the files with {{split}} in it, like 'data/{{split}}.jsonl' (got '{self.pattern}')")
        if self.sharded and "{i" not in pattern:
            option = sharding_options(self.shards, self.shard_lines, self.shard_size)[0]
            raise ShuffleError(f"{option} needs -o to be a directory or a name with {{i}} in it, like out-{{i:05d}}.txt (got '{self.pattern}')")
        try:
            return pattern.format(split=split, i=i)
        except (KeyError, IndexError, ValueError, AttributeError) as err:
            raise ShuffleError(f"bad output name pattern '{self.pattern}': {err}") from None

    def parts(self, total: int) -> list[tuple[str | None, int]]:
        """Each split's name and records, in output order (one nameless part without splits)."""
        return list(zip([s.name for s in self.splits], split_sizes(self.splits, total))) if self.splits else [(None, total)]

    def files(self, total: int) -> list[OutputFile]:
        """The files for ``total`` records, in output order, with their record counts (not for ``shard_size``)."""
        assert self.shard_size is None, "sized shards are cut as their records' lengths come"
        parts = self.parts(total)
        out = [
            OutputFile(self.name(split, i), split, n)
            for split, records in parts
            for i, n in enumerate(sharded(records, self.shards, self.shard_lines))
        ]
        if len({f.path for f in out}) != len(out):
            raise ShuffleError(f"the output name pattern '{self.pattern}' gives the same name twice")
        return out
