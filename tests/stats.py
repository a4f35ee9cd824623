"""Small exact-enough statistics for uniformity tests (no scipy needed)."""

from __future__ import annotations

import math


def _gamma_series(a: float, x: float) -> float:
    """Regularized lower incomplete gamma P(a, x) by its series (x < a + 1)."""
    term = total = 1.0 / a
    n = a
    for _ in range(10_000):
        n += 1
        term *= x / n
        total += term
        if abs(term) < abs(total) * 1e-15:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _gamma_cf(a: float, x: float) -> float:
    """Regularized upper incomplete gamma Q(a, x) by Lentz's continued fraction (x >= a + 1)."""
    tiny = 1e-300
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-15:
            break
    return math.exp(-x + a * math.log(x) - math.lgamma(a)) * h


def gamma_q(a: float, x: float) -> float:
    """Q(a, x) = 1 - P(a, x)."""
    if x <= 0:
        return 1.0
    if x < a + 1:
        return 1.0 - _gamma_series(a, x)
    return _gamma_cf(a, x)


def chi2_sf(stat: float, df: int) -> float:
    """P(chi-square with df degrees of freedom >= stat)."""
    return gamma_q(df / 2, stat / 2)


def chi2_table(table: list[list[float]]) -> float:
    """p-value of the chi-square test of independence on a contingency table."""
    rows = [sum(r) for r in table]
    cols = [sum(c) for c in zip(*table)]
    total = sum(rows)
    stat = 0.0
    for i, r in enumerate(table):
        for j, observed in enumerate(r):
            expected = rows[i] * cols[j] / total
            stat += (observed - expected) ** 2 / expected
    return chi2_sf(stat, (len(rows) - 1) * (len(cols) - 1))


def chi2_uniform(counts: list[float]) -> float:
    """p-value of the chi-square goodness-of-fit test against equal cell probabilities."""
    expected = sum(counts) / len(counts)
    stat = sum((c - expected) ** 2 / expected for c in counts)
    return chi2_sf(stat, len(counts) - 1)


def poisson_sf(k: int, mean: float) -> float:
    """P(Poisson(mean) >= k)."""
    if k <= 0:
        return 1.0
    return 1.0 - gamma_q(k, mean)


def chi2_fit(counts: list[float], probabilities: list[float]) -> float:
    """p-value of the chi-square goodness-of-fit test of ``counts`` against cell ``probabilities``."""
    total = sum(counts)
    stat = sum((c - total * p) ** 2 / (total * p) for c, p in zip(counts, probabilities))
    return chi2_sf(stat, len(counts) - 1)
