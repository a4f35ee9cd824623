"""ShuffleConfig holds every default and combination rule; shuffle() checks them before any I/O."""

from __future__ import annotations

import dataclasses

import pytest
from helpers import numbered_lines, reference_order

from shuffle_big import ConfigError, ShuffleConfig, ShuffleError, shuffle
from shuffle_big.core.plan import make_plan
from shuffle_big.sizes import default_memory, total_ram


@pytest.mark.parametrize("options, message", [
    ({"verify": True, "head": 1}, "--verify checks a whole shuffle; it cannot be combined with -n"),
    ({"verify": True, "repeat": True}, "--verify checks a whole shuffle; it cannot be combined with -r"),
    ({"repeat": True, "shards": 2}, "--shards with -r needs -n: an endless stream cannot be split into files"),
    ({"memory": 1000}, "memory 1000B is below the minimum of 1.0M"),
    ({"sep": b","}, "the record separator must be newline or NUL, not b','"),
    ({"jobs": 0}, "jobs must be at least 1, not 0"),
    ({"head": -1}, "head must not be negative, not -1"),
])
def test_each_rule_is_a_config_error(options, message):
    with pytest.raises(ConfigError) as caught:
        ShuffleConfig(**options)
    assert str(caught.value) == message
    assert isinstance(caught.value, ShuffleError) and isinstance(caught.value, ValueError)


def test_shuffle_checks_the_options_before_touching_the_input(tmp_path):
    with pytest.raises(ConfigError):
        shuffle([str(tmp_path / "missing")], verify=True, head=1)  # not "cannot open"
    with pytest.raises(TypeError):
        shuffle([str(tmp_path / "missing")], vrify=True)  # a misspelt option is no silent default


def test_defaults_and_the_memory_clamp():
    assert ShuffleConfig().budget == default_memory()
    assert ShuffleConfig(memory=64 << 20).budget == 64 << 20 and not ShuffleConfig(memory=64 << 20).clamped
    beyond = ShuffleConfig(memory=2 * total_ram())
    assert beyond.clamped and beyond.budget == total_ram() * 4 // 5


def test_keywords_override_a_config_and_a_plan_can_be_given(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    data = numbered_lines(20_000)
    src.write_bytes(data)
    base = ShuffleConfig(seed=1, plan=dataclasses.replace(make_plan(1 << 20), capacity=4096))
    result = shuffle([str(src)], str(out), base, seed=3)
    assert out.read_bytes() == reference_order(data, 3)
    assert not result.in_memory and result.seed == 3  # the tiny plan forced two passes on a small input
