"""The CFDATA checksum of [MS-CAB] (``CSUMCompute``), computed at C speed.

The checksum XORs the data as little-endian 32-bit words; the 1-3 bytes left over are
packed most-significant-first. It is then folded over the block's ``cbData``/``cbUncomp``
fields and the per-block reserve the same way.

Instead of a per-word Python loop (which made one popular library 4x slower than needed),
the block is turned into one big integer and folded in halves: XOR is associative, so
XOR-ing the upper half onto the lower half (at a 32-bit boundary) preserves the result.
"""

from __future__ import annotations


def _xor_words(data: bytes | memoryview, seed: int) -> int:
    n_words = len(data) // 4
    if n_words:
        value = int.from_bytes(data[: n_words * 4], "little")
        bits = n_words * 32
        while bits > 32:
            half_words = (bits // 32 + 1) // 2
            shift = half_words * 32
            value = (value >> shift) ^ (value & ((1 << shift) - 1))
            bits = shift
        seed ^= value
    tail = data[n_words * 4 :]
    t = 0
    for b in tail:
        t = (t << 8) | b
    return seed ^ t


def csum_compute(data: bytes | memoryview, seed: int = 0) -> int:
    """``CSUMCompute(data, len, seed)`` as defined by [MS-CAB] 2.4."""
    return _xor_words(data, seed) & 0xFFFFFFFF


def cfdata_checksum(header_tail: bytes | memoryview, data: bytes | memoryview) -> int:
    """Checksum of one CFDATA block.

    ``header_tail`` is the block header after ``csum``: cbData, cbUncomp and the reserve.
    """
    return csum_compute(header_tail, csum_compute(data, 0))
