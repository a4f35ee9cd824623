"""Parsing and printing byte sizes such as ``512M``, ``4G`` or ``10%`` (of RAM)."""

from __future__ import annotations

import os
import re

_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([KMGTP]?)(I?B)?\s*$", re.IGNORECASE)
_PERCENT_RE = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*%\s*$")


def total_ram() -> int:
    """Physical memory of this machine in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def parse_size(text: str, ram: int | None = None, percent: bool = True) -> int:
    """Bytes meant by ``text``: ``1024``, ``64K``, ``512M``, ``4G``, ``1.5GiB`` or (``percent``) ``10%`` of RAM.

    Units are powers of 1024, as in GNU sort's ``-S``. A bare number is bytes.
    Raises ValueError with a message fit for the user.
    """
    m = _PERCENT_RE.match(text)
    if m and percent:
        pct = float(m.group(1))
        if not 0 < pct <= 100:
            raise ValueError(f"invalid percentage '{text}': must be in (0, 100]")
        return int((ram if ram is not None else total_ram()) * pct / 100)
    m = _SIZE_RE.match(text)
    if not m:
        raise ValueError(f"invalid size '{text}': use a number with an optional K, M, G, T suffix{' or a %' if percent else ''}")
    return int(float(m.group(1)) * _UNITS[m.group(2).upper()])


def format_size(n: float) -> str:
    """Short human form: ``512.0M``, ``1.1G``, ``900B``."""
    for unit in ("B", "K", "M", "G", "T"):
        if abs(n) < 1024 or unit == "T":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024
    raise AssertionError("unreachable")


def default_memory(ram: int | None = None) -> int:
    """Default budget: 1 GiB, or a quarter of RAM on smaller machines."""
    return min(1 << 30, (ram if ram is not None else total_ram()) // 4)
