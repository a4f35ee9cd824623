"""The permutation itself: a keyed bijection from record positions to 64-bit keys.

A record's key depends only on the seed and its position: which input it is
in and the byte offset where it starts in that input (decompressed). Output
order is ascending key. Because the mixing function is a bijection of 64-bit
words and positions are distinct, keys are distinct and no tie rule is ever
needed. Every execution path (in memory, two-pass, recursive, any worker
reading any input) sorts by this same key, which is why ``--seed`` output
does not depend on the memory budget or on who read which input.

A position is one 64-bit word: the input's index in its top bits (as few as
the number of inputs needs; none for one input) and the offset below them.
A worker can key an input's records knowing only its index, not how long
the inputs before it are, which a compressed file does not say up front.

Buckets are ranges of the key space: the top ``bits`` bits after ``consumed``
bits that earlier levels already used.

An ``-i`` range alone is ordered by ``range_order.py`` instead: its numbers need
no text and no keys sorted.
"""

from __future__ import annotations

import numpy as np
import xxhash

MASK64 = (1 << 64) - 1
_C1 = 0xFF51AFD7ED558CCD
_C2 = 0xC4CEB9FE1A85EC53
_C1_INVERSE = pow(_C1, -1, 1 << 64)
_C2_INVERSE = pow(_C2, -1, 1 << 64)


def derive_keys(seed: int, purpose: str = "") -> tuple[int, int]:
    """Two 64-bit mixing keys from a user seed (any non-negative integer).

    ``purpose`` gives independent keys for other uses of the seed (``-r``).
    """
    material = (f"shuffle-big/1/{purpose}:{seed}" if purpose else f"shuffle-big/1:{seed}").encode()
    return xxhash.xxh64_intdigest(material, seed=1), xxhash.xxh64_intdigest(material, seed=2)


def input_bits(inputs: int, copies: int = 1) -> int:
    """Top bits of a position that name the input and copy (0 for one input, one copy: the position is the offset)."""
    return max(inputs * copies - 1, 0).bit_length()


def input_base(index: int, inputs: int, copies: int = 1, copy: int = 0) -> int:
    """Position of byte 0 of copy ``copy`` (of ``copies`` slots per input) of input ``index`` of ``inputs``.

    ``--weights`` puts a record into the shuffle more than once: each copy is
    a record of its own, at a position of its own, as if the inputs were
    ``inputs * copies`` inputs. With one copy slot these are the positions
    of a run without weights.
    """
    bits = input_bits(inputs, copies)
    return (index * copies + copy) << (64 - bits) if bits else 0


def input_span(inputs: int, copies: int = 1) -> int:
    """Offsets within one input stay below this, so positions of different inputs (and copies) never meet."""
    return 1 << (64 - input_bits(inputs, copies))


def slot_of(positions: np.ndarray, inputs: int, copies: int) -> np.ndarray:
    """``index * copies + copy`` of the copy of the input each position is in (uint64)."""
    bits = input_bits(inputs, copies)
    if bits == 0:
        return np.zeros(len(positions), dtype=np.uint64)
    return positions >> np.uint64(64 - bits)


def fmix64(x: int) -> int:
    """MurmurHash3's 64-bit finaliser: a bijection with full avalanche."""
    x ^= x >> 33
    x = (x * _C1) & MASK64
    x ^= x >> 33
    x = (x * _C2) & MASK64
    return x ^ (x >> 33)


def key_of(position: int, mix: tuple[int, int]) -> int:
    """Reference (pure Python) key of the record at ``position`` (``input_base`` + offset in the input)."""
    return fmix64(fmix64(position ^ mix[0]) ^ mix[1])


def _xorshift_multiply(x: np.ndarray, first: int, second: int) -> np.ndarray:
    # uint64 arithmetic in numpy wraps modulo 2**64, exactly like the reference.
    x ^= x >> np.uint64(33)
    x *= np.uint64(first)
    x ^= x >> np.uint64(33)
    x *= np.uint64(second)
    x ^= x >> np.uint64(33)
    return x


def fmix64_array(x: np.ndarray) -> np.ndarray:
    """``fmix64`` of each uint64 of ``x``, in place (and returned)."""
    return _xorshift_multiply(x, _C1, _C2)


def unfmix64_array(x: np.ndarray) -> np.ndarray:
    """The inverse of ``fmix64_array``, in place (and returned): the same steps backwards. ``x ^= x >> 33``
    undoes itself (the bits it shifts in are untouched by it), and odd multipliers have inverses mod 2**64."""
    return _xorshift_multiply(x, _C2_INVERSE, _C1_INVERSE)


def positions_of(keys: np.ndarray, mix: tuple[int, int]) -> np.ndarray:
    """The positions whose keys are ``keys``: the inverse of ``keys_of`` (returns a new array)."""
    x = keys.astype(np.uint64, copy=True)
    x = unfmix64_array(x)
    x ^= np.uint64(mix[1])
    x = unfmix64_array(x)
    x ^= np.uint64(mix[0])
    return x


def keys_of(positions: np.ndarray, mix: tuple[int, int]) -> np.ndarray:
    """Vectorised ``key_of`` over a uint64 array of positions (returns a new array)."""
    x = positions.astype(np.uint64, copy=True)
    x ^= np.uint64(mix[0])
    x = fmix64_array(x)
    x ^= np.uint64(mix[1])
    return fmix64_array(x)


def bucket_of(key: int, consumed: int, bits: int) -> int:
    """Reference bucket number: ``bits`` key bits after the first ``consumed``."""
    if bits == 0:
        return 0
    return ((key << consumed) & MASK64) >> (64 - bits)


def buckets_of(keys: np.ndarray, consumed: int, bits: int) -> np.ndarray:
    """Vectorised ``bucket_of``; uint16 when it fits, which makes argsort a radix sort."""
    if bits == 0:
        return np.zeros(len(keys), dtype=np.uint16)
    ids = (keys << np.uint64(consumed)) >> np.uint64(64 - bits)
    return ids.astype(np.uint16 if bits <= 16 else np.uint32)
