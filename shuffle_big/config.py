"""One frozen object for how to shuffle: every option, its default, and the rules for combining them.

The command builds one from its options and ``shuffle()`` from its keywords
(as black's ``Mode``), so each rule lives here once and is checked before
any input is touched: an impossible combination raises ``ConfigError``,
which the command reports as a usage error (exit 1, as shuf's).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import cast

from .core.plan import MIN_MEMORY, Plan
from .core.weights import parse_weights
from .errors import ConfigError, ShuffleError
from .outputs.layout import Layout, Split, parse_splits, sharding_options
from .sizes import default_memory, format_size, total_ram


@dataclass(frozen=True)
class ShuffleConfig:
    """How to shuffle (``shuffle()`` takes each field as a keyword)."""

    memory: int | None = None  # bytes for all processes together; None: 1 GiB, or a quarter of smaller RAM
    jobs: int = 1  # local worker processes, sharing ``memory`` (the command's default: the CPUs)
    seed: int | None = None  # None: a random one, reported in the result
    head: int | None = None  # write only the first ``head`` records of the permutation (-n)
    repeat: bool = False  # draw with replacement instead: ``head`` draws, or without end (-r)
    sep: bytes = b"\n"  # the byte that ends a record (b"\0" for -z)
    header: int = 0  # records at the top of the first input kept there, unshuffled
    recursive: bool = False  # a directory among the inputs stands for the files under it (-R)
    verify: bool = False  # fail, writing nothing, unless the records written are the records read
    shards: int | None = None  # split the output into this many files of near-equal record count
    shard_lines: int | None = None  # or into files of this many records (the last may hold fewer)
    shard_size: int | None = None  # or into files of at most this many bytes of records, filled in turn
    splits: tuple[Split, ...] | str | None = None  # cut the permutation into these parts first: "valid=1000,train=rest"
    weights: tuple[Fraction, ...] | str | None = None  # per input (operand): copies of its records, "2,0.5,1"
    manifest: str | None = None  # once the output is published, describe the run and every file written here (JSON)
    temp_dir: str | None = None  # where buckets go (default $TMPDIR); a URL with a cluster
    compress_level: int | None = None  # of a .gz (1-9) or .zst (1-22) output; None: gzip 2 (ISA-L), zstd 3
    progress: bool = False  # progress bars on stderr
    plan: Plan | None = None  # sizes to use instead of those made from ``memory`` (for tests)

    def __post_init__(self) -> None:
        if isinstance(self.splits, str):
            try:
                object.__setattr__(self, "splits", parse_splits(self.splits))
            except ValueError as err:
                raise ConfigError(f"--split '{self.splits}': {err}") from None
        if isinstance(self.weights, str):
            try:
                object.__setattr__(self, "weights", parse_weights(self.weights))
            except ValueError as err:
                raise ConfigError(f"--weights '{self.weights}': {err}") from None
        if self.manifest is not None and (self.repeat or self.head is not None):
            raise ConfigError(f"--manifest describes a whole shuffle; it cannot be combined with {'-r' if self.repeat else '-n'}")
        if self.weights is not None and (self.repeat or self.head is not None):
            raise ConfigError(f"--weights weighs a whole shuffle; it cannot be combined with {'-r' if self.repeat else '-n'}")
        if self.memory is not None and self.memory < MIN_MEMORY:
            raise ConfigError(f"memory {format_size(self.memory)} is below the minimum of {format_size(MIN_MEMORY)}")
        if self.sep not in (b"\n", b"\0"):
            raise ConfigError(f"the record separator must be newline or NUL, not {self.sep!r}")
        for name in ("jobs", "shards", "shard_lines", "shard_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"{name} must be at least 1, not {value}")
        for name in ("head", "header"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ConfigError(f"{name} must not be negative, not {value}")
        if self.compress_level is not None and not 1 <= self.compress_level <= 22:
            raise ConfigError(f"--compress-level is 1 to 9 for gzip, 1 to 22 for zstd, not {self.compress_level}")
        if self.verify and (self.repeat or self.head is not None):
            raise ConfigError(f"--verify checks a whole shuffle; it cannot be combined with {'-r' if self.repeat else '-n'}")
        given = self._shardings()
        if len(given) > 1:
            raise ConfigError(f"{given[0]} and {given[1]} cannot be combined: they say how to cut the files two ways")
        if self.repeat and self.head is None and self.layout_options:
            option = "--split" if self.splits else given[0]
            raise ConfigError(f"{option} with -r needs -n: an endless stream cannot be split into files")

    def _shardings(self) -> list[str]:
        return sharding_options(self.shards, self.shard_lines, self.shard_size)

    def check_output(self, output: str | None) -> None:
        """What ``-o`` must be for these options (ShuffleError saying why not), before any input is read."""
        if self.layout_options:
            self.layout(output)
        if self.manifest is not None and output in (None, "-"):
            raise ShuffleError("--manifest needs -o: the files written are read back to describe them")

    def layout(self, output: str | None) -> Layout:
        """The files ``-o`` names under ``--split`` and the sharding options (ShuffleError for a bad name)."""
        option = "--split" if self.splits else self._shardings()[0]
        if output in (None, "-"):
            names = "a name with {split} in it" if self.splits else "a directory, or a name with {i} in it"
            raise ShuffleError(f"{option} needs -o: {names}")
        return Layout(output, cast(tuple[Split, ...] | None, self.splits), self.shards, self.shard_lines, self.shard_size)

    @property
    def layout_options(self) -> bool:
        """Is the output laid out in several files (``--split``, ``--shards``, ``--shard-lines``)?"""
        return bool(self.splits) or bool(self._shardings())

    @property
    def clamped(self) -> bool:
        """Is ``memory`` more than this machine's RAM (so the budget is 80% of RAM instead)?"""
        return self.memory is not None and self.memory > total_ram()

    @property
    def budget(self) -> int:
        """The memory budget in bytes that the run keeps to."""
        if self.plan is not None:
            return self.plan.budget
        if self.memory is None:
            return default_memory()
        # the rest of RAM is for the OS and the page cache
        return total_ram() * 4 // 5 if self.clamped else self.memory


def weights_count_error(weights: int, operands: int) -> str:
    return f"--weights gives {weights} weight{'s' * (weights != 1)} for {operands} input{'s' * (operands != 1)}: give one for each"
