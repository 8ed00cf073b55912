import zlib

import pytest

from shares.archives import crc


@pytest.mark.parametrize("count", [0, 1, 2, 3, 7, 8, 255, 4096, 65537, 1 << 20])
@pytest.mark.parametrize("prefix", [b"", b"a", bytes(range(33))])
def test_extend_zeros_matches_zlib(prefix, count):
    start = zlib.crc32(prefix)
    assert crc.extend_zeros(start, count) == zlib.crc32(bytes(count), start)


def test_extend_zeros_of_five_gibibytes_is_instant_and_composable():
    once = crc.extend_zeros(0, 5 << 30)
    twice = crc.extend_zeros(crc.extend_zeros(0, 3 << 30), 2 << 30)
    assert once == twice
