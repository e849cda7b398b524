"""Deterministic randomness for the generators.

Two tools, both pure functions of the seed:

- :func:`child_rng` gives an independent :class:`numpy.random.Generator` for a labelled stage
  (``child_rng(seed, STAGE, week)``), so that adding draws in one stage never shifts another;
- :func:`hash_uniform` is a counter-based generator: the uniform for a given key tuple (campsite,
  night, accommodation type…) is always the same, whatever else is generated. The barometer uses
  it so that a night keeps the same final occupancy across weekly snapshots and bookings only
  grow as the night approaches.

The hash is SplitMix64 (Steele, Lea & Flood 2014) applied to the keys in turn, vectorised with
numpy's wrapping ``uint64`` arithmetic.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_MASK64 = (1 << 64) - 1


def _splitmix(state: NDArray[np.uint64]) -> NDArray[np.uint64]:
    z = state + _GOLDEN
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    result: NDArray[np.uint64] = z ^ (z >> _S31)
    return result


def hash_uint64(seed: int, *keys: ArrayLike) -> NDArray[np.uint64]:
    """64-bit hash of ``(seed, *keys)``, element-wise over the broadcast of the key arrays."""
    arrays = [np.asarray(key).astype(np.int64).view(np.uint64) for key in keys]
    shape = np.broadcast_shapes(*(a.shape for a in arrays)) if arrays else ()
    state = _splitmix(np.full(shape, seed & _MASK64, dtype=np.uint64))
    for array in arrays:
        state = _splitmix(state ^ array)
    return state


def hash_uniform(seed: int, *keys: ArrayLike) -> NDArray[np.float64]:
    """Uniform floats in ``[0, 1)`` that depend only on ``(seed, *keys)``."""
    bits = hash_uint64(seed, *keys) >> _S11
    result: NDArray[np.float64] = bits.astype(np.float64) * (1.0 / (1 << 53))
    return result


def hash_normal(seed: int, *keys: ArrayLike) -> NDArray[np.float64]:
    """Standard normal draws that depend only on ``(seed, *keys)`` (Box-Muller on two hashes)."""
    u1 = hash_uniform(seed, *keys, 1)
    u2 = hash_uniform(seed, *keys, 2)
    result: NDArray[np.float64] = np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)
    return result


def child_rng(seed: int, *labels: int) -> np.random.Generator:
    """An independent generator for the stage named by ``labels`` (non-negative integers)."""
    return np.random.default_rng([seed & _MASK64, *labels])
