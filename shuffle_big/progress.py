"""Progress bars on stderr (tqdm), or nothing."""

from __future__ import annotations

import sys

from tqdm import tqdm


class Meter:
    """A byte counter shown as a tqdm bar when enabled; a no-op otherwise."""

    def __init__(self, enabled: bool, desc: str, total: int | None) -> None:
        self._bar = (
            tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr, dynamic_ncols=True)
            if enabled
            else None
        )
        self._shown = 0

    def to(self, done: int) -> None:
        """Move the bar to ``done`` bytes."""
        if self._bar is not None and done > self._shown:
            self._bar.update(done - self._shown)
            self._shown = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Meter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
