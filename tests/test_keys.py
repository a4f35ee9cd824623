import random

import numpy as np
import pytest

from shuffle_big.core.keys import (
    _C1,
    _C2,
    MASK64,
    bucket_of,
    buckets_of,
    derive_keys,
    fmix64,
    input_base,
    input_bits,
    input_span,
    key_of,
    keys_of,
)


def test_vectorised_keys_match_reference():
    mix = derive_keys(12345)
    offsets = np.array([0, 1, 2, 17, 1 << 40, (1 << 64) - 1], dtype=np.uint64)
    assert keys_of(offsets, mix).tolist() == [key_of(int(o), mix) for o in offsets]


def unfmix64(y: int, c1: int = _C1, c2: int = _C2) -> int:
    """The inverse of fmix64: each xor-shift by 33 undoes itself, each odd multiplier has an inverse mod 2**64."""
    y ^= y >> 33
    y = (y * pow(c2, -1, 1 << 64)) & MASK64
    y ^= y >> 33
    y = (y * pow(c1, -1, 1 << 64)) & MASK64
    return y ^ (y >> 33)


def test_fmix64_is_a_bijection():
    """An inverse exists, so distinct offsets never share a key and no tie rule is needed.

    (Counting distinct outputs of a sample could not tell: a random 64-bit function
    collides on 2**20 inputs with probability ~3e-8.)
    """
    rng = random.Random(5)
    words = [rng.getrandbits(64) for _ in range(20_000)] + [0, 1, MASK64, 1 << 63]
    assert all(unfmix64(fmix64(x)) == x for x in words)
    assert all(fmix64(unfmix64(x)) == x for x in words)


def test_a_key_gives_back_its_offset():
    """key_of is fmix64 twice around the seed's two words: invertible too, in numpy as in Python."""
    mix = derive_keys(9)
    offsets = np.array([0, 1, 2, 10**12, 2**63 + 5], dtype=np.uint64)
    keys = keys_of(offsets.copy(), mix)
    assert keys.tolist() == [key_of(int(o), mix) for o in offsets.tolist()]
    assert [unfmix64(unfmix64(k) ^ mix[1]) ^ mix[0] for k in keys.tolist()] == offsets.tolist()


def test_the_bijection_check_rejects_a_lossy_mixer():
    """The round trip bites: a mixer that drops a bit has no inverse, and an even multiplier none either."""
    rng = random.Random(6)
    words = [rng.getrandbits(64) for _ in range(1000)]
    assert not all(unfmix64(fmix64(x) & ~1) == x for x in words)
    with pytest.raises(ValueError):
        unfmix64(1, c1=_C1 & ~1)  # no inverse mod 2**64


def test_buckets_are_key_ranges():
    keys = keys_of(np.arange(10_000, dtype=np.uint64), derive_keys(7))
    ids = buckets_of(keys, 0, 4)
    assert ids.tolist() == [int(k) >> 60 for k in keys.tolist()]
    # a lower bucket's keys are all smaller than a higher bucket's keys
    for b in range(15):
        assert keys[ids == b].max() < keys[ids == b + 1].min()


def test_sub_buckets_use_the_next_bits():
    keys = keys_of(np.arange(5000, dtype=np.uint64), derive_keys(3))
    sub = buckets_of(keys, 4, 3)
    assert sub.tolist() == [bucket_of(int(k), 4, 3) for k in keys.tolist()]
    assert sub.tolist() == [(int(k) >> 57) & 7 for k in keys.tolist()]
    assert bucket_of(MASK64, 60, 4) == 15
    assert buckets_of(keys, 0, 0).tolist() == [0] * len(keys)


def test_keys_uniform_in_top_bits():
    # 2**20 consecutive offsets over 256 buckets: chi-square far from extreme
    keys = keys_of(np.arange(1 << 20, dtype=np.uint64), derive_keys(99))
    counts = np.bincount(buckets_of(keys, 0, 8), minlength=256)
    expected = (1 << 20) / 256
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert 150 < chi2 < 380  # df=255; these bounds are beyond p=1e-4 on each side


def test_positions_of_inputs_never_meet_and_one_input_is_its_offsets():
    assert input_bits(1) == 0 and input_base(0, 1) == 0 and input_span(1) == 1 << 64  # 0.1's keys, unchanged
    for inputs in (2, 3, 16, 17, 1000, 1 << 20):
        bases = [input_base(i, inputs) for i in range(inputs)]
        span = input_span(inputs)
        assert bases[0] == 0 and all(b2 - b1 == span for b1, b2 in zip(bases, bases[1:]))
        assert bases[-1] + span - 1 <= MASK64  # the last input's offsets fit in 64 bits
    assert input_bits(16) == 4 and input_bits(17) == 5


def test_a_record_past_its_inputs_span_is_an_error(tmp_path):
    from shuffle_big.errors import ShuffleError
    from shuffle_big.inputs.reader import RecordReader, Segment

    path = tmp_path / "in.txt"
    path.write_bytes(b"a\n" * 100)
    ok = RecordReader([Segment(str(path), 0, None, 1000, 1200)], 64, 64)
    assert sum(len(b.data) for b in ok) == 200
    with pytest.raises(ShuffleError, match="too long for one of this many inputs"):
        list(RecordReader([Segment(str(path), 0, None, 1000, 1100)], 64, 64))
