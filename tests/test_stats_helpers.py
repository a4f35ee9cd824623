"""The statistics helpers agree with known values (so the uniformity tests mean something)."""

import math

import pytest
from stats import chi2_sf, chi2_uniform, poisson_sf


@pytest.mark.parametrize(
    "stat, df, p",
    [(3.841458820694124, 1, 0.05), (18.307038053275146, 10, 0.05), (124.34211340400407, 100, 0.05), (1.0, 2, math.exp(-0.5))],
)
def test_chi2_sf_known_values(stat, df, p):
    assert chi2_sf(stat, df) == pytest.approx(p, rel=1e-6)


def test_poisson_sf():
    assert poisson_sf(1, 2.0) == pytest.approx(1 - math.exp(-2))
    assert poisson_sf(3, 1.0) == pytest.approx(1 - math.exp(-1) * (1 + 1 + 0.5))


def test_chi2_uniform_extremes():
    assert chi2_uniform([100, 100, 100, 100]) == pytest.approx(1.0)
    assert chi2_uniform([400, 0, 0, 0]) < 1e-10
