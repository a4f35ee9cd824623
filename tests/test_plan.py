import pytest

from shuffle_big.core.plan import MAX_BUCKET_BITS, MIN_MEMORY, WORK_PER_RECORD, ceil_log2, floor_log2, make_plan


def test_log2_helpers():
    assert [ceil_log2(x) for x in (0, 1, 1.5, 2, 3, 4, 5, 1024, 1025, 2.0**62)] == [0, 0, 1, 1, 2, 2, 3, 10, 11, 62]
    assert [floor_log2(x) for x in (1, 2, 3, 4, 1023, 1024)] == [0, 1, 1, 2, 9, 10]


@pytest.mark.parametrize("budget", [MIN_MEMORY, 4 << 20, 64 << 20, 1 << 30, 64 << 30])
def test_the_plan_formula_keeps_held_data_and_block_work_inside_the_budget(budget):
    """A formula check of make_plan's shares (the budget itself is measured in test_memory.py)."""
    p = make_plan(budget)
    # held data and the working sets it is processed with must fit together
    worst_block_work = p.block_records * WORK_PER_RECORD + 3 * p.block_size
    assert p.capacity + worst_block_work <= budget
    assert p.write_buffer + worst_block_work <= budget
    assert 2 << 10 <= p.block_size <= 1 << 20
    assert p.long_threshold >= p.block_size


def test_plan_rejects_tiny_budget():
    with pytest.raises(ValueError):
        make_plan(MIN_MEMORY - 1)


def test_buckets_are_ordered_whole_while_limits_allow():
    p = make_plan(256 << 20, max_open_files=20000)
    for nbytes, nrecords in [(1 << 30, 1 << 23), (1 << 30, 1 << 26), (1 << 32, 1 << 25)]:  # 128- and 16-byte lines
        bits = p.bucket_bits(nbytes, nrecords, 0)
        assert p.whole_cost(nbytes >> bits, nrecords >> bits) <= 0.6 * p.capacity  # with room for variation
        assert p.piece_bits(nbytes >> bits, nrecords >> bits, bits) == 0
        assert p.whole_cost(nbytes >> (bits - 1), nrecords >> (bits - 1)) > 0.6 * p.capacity  # and no more buckets
    assert p.bucket_bits(1 << 27, 1 << 20, 0) + 1 == p.bucket_bits(1 << 28, 1 << 21, 0)
    assert p.bucket_bits(1 << 40, 1 << 33, 0) == MAX_BUCKET_BITS


def test_bucket_bits_respect_open_file_limit():
    p = make_plan(1 << 30, max_open_files=100)  # 36 usable after the reserve
    assert 1 << p.bucket_bits(1 << 40, 1 << 30, 0) <= 36
    assert p.bucket_bits(1 << 40, 1 << 30, 0) >= 1


def test_bucket_bits_respect_write_size():
    p = make_plan(4 << 20, max_open_files=20000)
    assert p.write_buffer >> p.bucket_bits(1 << 40, 1 << 30, 0) >= 16 << 10


def test_bucket_bits_never_exceed_key_width():
    p = make_plan(1 << 30)
    assert p.bucket_bits(1 << 40, 1 << 30, 62) == 2
    assert p.piece_bits(1 << 30, 1 << 25, 64) == 0


def test_bucket_bits_split_at_least_in_two():
    p = make_plan(64 << 20)
    assert p.bucket_bits(p.capacity + 1, 1, 0) >= 1


def test_piece_bits_make_cache_sized_pieces_of_a_bucket_too_big_to_order_whole():
    p = make_plan(1 << 30)
    assert p.whole_cost(400 << 20, 20 << 20) > p.capacity
    bits = p.piece_bits(400 << 20, 20 << 20, 0)
    assert (20 << 20) >> bits <= p.records_per_piece
    assert (400 << 20) >> bits <= p.bytes_per_piece
    assert p.piece_bits(1000, 10, 0) == 0


def test_a_bucket_whose_ordering_fits_is_ordered_whole():
    p = make_plan(128 << 20)
    assert p.piece_bits(4 << 20, 210_000, 8) == 0  # 4 MB of 20-byte lines at a worker's 128M
    assert p.piece_bits(p.capacity, p.capacity // 20, 8) > 0  # a bucket at capacity is cut
