"""Damage a file's bytes the ways storage and transfers damage them: bit flips, truncation, zeroed and copied blocks.

Each mutation is a pure function of the bytes and a seeded ``random.Random``,
so a case is reproduced from its seed file, its kind and its seed alone.
"""

from __future__ import annotations

import random

#: The kinds of damage, in the order a case's seed cycles through them.
KINDS = ("bit-flips", "truncation", "zeroed-block", "copied-block")


def bit_flips(data: bytes, rng: random.Random) -> bytes:
    """1 to 16 single bits flipped at random offsets.

    >>> bit_flips(bytes(4), random.Random(0)) != bytes(4)
    True
    """
    out = bytearray(data)
    for _ in range(rng.randint(1, 16)):
        if out:
            offset = rng.randrange(len(out))
            out[offset] ^= 1 << rng.randrange(8)
    return bytes(out)


def truncation(data: bytes, rng: random.Random) -> bytes:
    """The file cut at a random length (an interrupted copy or download).

    >>> len(truncation(bytes(100), random.Random(1))) < 100
    True
    """
    return data[:rng.randrange(len(data))] if data else data


def zeroed_block(data: bytes, rng: random.Random) -> bytes:
    """A block of 1 byte to 4 KiB set to zero (a lost disk sector).

    >>> zeroed_block(b"\\xff" * 64, random.Random(2)).count(0) > 0
    True
    """
    if not data:
        return data
    start = rng.randrange(len(data))
    length = min(rng.randint(1, 4096), len(data) - start)
    return data[:start] + bytes(length) + data[start + length:]


def copied_block(data: bytes, rng: random.Random) -> bytes:
    """A block of 1 byte to 4 KiB copied over another place in the file (a misplaced write).

    >>> len(copied_block(bytes(range(200)), random.Random(3)))
    200
    """
    if len(data) < 2:
        return data
    length = rng.randint(1, min(4096, len(data) // 2))
    source = rng.randrange(len(data) - length + 1)
    target = rng.randrange(len(data) - length + 1)
    return data[:target] + data[source:source + length] + data[target + length:]


MUTATIONS = {"bit-flips": bit_flips, "truncation": truncation, "zeroed-block": zeroed_block,
             "copied-block": copied_block}


def mutate(data: bytes, kind: str, seed: int) -> bytes:
    """``data`` damaged by ``kind`` (one of :data:`KINDS`) with the seed ``seed``.

    >>> mutate(b"abcdef", "truncation", 0) == mutate(b"abcdef", "truncation", 0)
    True
    """
    return MUTATIONS[kind](data, random.Random(seed))
