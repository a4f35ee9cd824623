import numpy as np

from shuffle_big.core.keys import MASK64, bucket_of, buckets_of, derive_keys, fmix64, key_of, keys_of


def test_vectorised_keys_match_reference():
    mix = derive_keys(12345)
    offsets = np.array([0, 1, 2, 17, 1 << 40, (1 << 64) - 1], dtype=np.uint64)
    assert keys_of(offsets, mix).tolist() == [key_of(int(o), mix) for o in offsets]


def test_keys_distinct_for_distinct_offsets():
    keys = keys_of(np.arange(1_000_000, dtype=np.uint64), derive_keys(1))
    assert len(np.unique(keys)) == len(keys)


def test_fmix64_is_a_bijection_on_a_sample():
    xs = range(0, 1 << 20)
    assert len({fmix64(x) for x in xs}) == len(xs)


def test_seed_changes_keys():
    assert derive_keys(1) != derive_keys(2)
    assert key_of(0, derive_keys(1)) != key_of(0, derive_keys(2))


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
