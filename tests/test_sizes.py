import pytest

from shuffle_big.sizes import default_memory, format_size, parse_size


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1024", 1024),
        ("64K", 64 << 10),
        ("64k", 64 << 10),
        ("512M", 512 << 20),
        ("4G", 4 << 30),
        ("1T", 1 << 40),
        ("1.5G", 3 << 29),
        ("2GiB", 2 << 30),
        ("2GB", 2 << 30),
        (" 8M ", 8 << 20),
    ],
)
def test_parse_size(text, expected):
    assert parse_size(text) == expected


def test_parse_percent_of_ram():
    assert parse_size("10%", ram=1000 << 20) == 100 << 20
    assert parse_size("100%", ram=1 << 30) == 1 << 30


@pytest.mark.parametrize("bad", ["", "M", "12X", "-5M", "0%", "150%", "1..2G", "abc"])
def test_parse_size_rejects(bad):
    with pytest.raises(ValueError):
        parse_size(bad)


def test_default_memory_is_min_of_1g_and_quarter_ram():
    assert default_memory(ram=16 << 30) == 1 << 30
    assert default_memory(ram=2 << 30) == 512 << 20


def test_format_size():
    assert format_size(900) == "900B"
    assert format_size(512 << 20) == "512.0M"
    assert format_size(3 << 29) == "1.5G"
