"""CRC-32 (zip's checksum) that skips runs of zeros arithmetically.

The CRC register after n zero bytes is a linear function of the register
before them, so holes of a sparse file (a VM image, a 5 GiB test file) can
be accounted in O(log n) instead of being read and summed byte by byte.
"""

import zlib

_POLY = 0xEDB88320


def _times(matrix: list[int], vector: int) -> int:
    result = 0
    index = 0
    while vector:
        if vector & 1:
            result ^= matrix[index]
        vector >>= 1
        index += 1
    return result


def _square(matrix: list[int]) -> list[int]:
    return [_times(matrix, column) for column in matrix]


def _one_zero_byte() -> list[int]:
    bit = [_POLY] + [1 << (n - 1) for n in range(1, 32)]  # one zero bit
    two = _square(bit)
    four = _square(two)
    return _square(four)


_BYTE = _one_zero_byte()


def extend_zeros(crc: int, count: int) -> int:
    """zlib.crc32(bytes(count), crc), without the bytes."""
    register = crc ^ 0xFFFFFFFF
    matrix = _BYTE
    while count:
        if count & 1:
            register = _times(matrix, register)
        count >>= 1
        if count:
            matrix = _square(matrix)
    return register ^ 0xFFFFFFFF


def update(crc: int, data) -> int:
    return zlib.crc32(data, crc)
