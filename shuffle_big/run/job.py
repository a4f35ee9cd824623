"""What every step of one shuffle run needs: its plan, keys, temp space, output and executor."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from typing import NamedTuple

from ..core.fingerprint import Verifier
from ..core.keys import derive_keys
from ..core.plan import Plan
from ..core.weights import Weighting
from ..outputs.sinks import Sink
from ..storage.tempspace import TempSpace
from .pool import Executor


class InputCount(NamedTuple):
    """One input of a whole shuffle: its name, records read and their bytes (decompressed), weight (1
    without --weights), records written."""

    name: str
    read: int
    nbytes: int
    weight: Fraction
    written: int


@dataclass
class ShuffleResult:
    """What a run did, for ``--stats`` and library callers."""

    seed: int
    records: int = 0
    bytes: int = 0
    buckets: int = 0  # bucket files created by pass 1
    passes: int = 1  # 1: in memory; 2: two-pass; more: buckets split again
    in_memory: bool = True
    jobs: int = 1  # worker processes that ran (1: none, all in this process)
    seconds: dict[str, float] = field(default_factory=dict)  # wall time of each pass, by name
    peak_rss: int = 0  # bytes, this process
    peak_worker_rss: int = 0  # bytes, the largest worker process
    inputs: list[InputCount] = field(default_factory=list)  # what each input gave (a whole shuffle)

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


@dataclass(frozen=True)
class Options:
    """How records look and what to do with them besides shuffling."""

    sep: bytes = b"\n"  # record separator: b"\n", or b"\0" for -z
    header: int = 0  # records at the top of the first input kept in place


@dataclass(frozen=True)
class Job:
    """One shuffle run's fixed parts; the passes read them, ``result`` collects what they report."""

    plan: Plan
    seed: int
    temp: TempSpace
    out: Sink
    executor: Executor
    result: ShuffleResult
    options: Options = Options()
    progress: bool = False
    max_open_files: int = 1024
    verifier: Verifier | None = None  # --verify: fed by readers and writers, checked before commit
    weighting: Weighting | None = None  # --weights

    @cached_property
    def mix(self) -> tuple[int, int]:
        return derive_keys(self.seed)

    @property
    def worker_budget(self) -> int:
        return self.executor.budget_per_worker(self.plan.budget)
