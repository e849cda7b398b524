"""Counter-based and staged randomness."""

import numpy as np

from etds_examples.randomness import child_rng, hash_normal, hash_uint64, hash_uniform


def test_hash_uniform_depends_only_on_its_keys() -> None:
    whole = hash_uniform(5, np.arange(1000), 3)
    alone = hash_uniform(5, np.array([417]), 3)
    assert whole[417] == alone[0]
    assert not np.array_equal(whole, hash_uniform(6, np.arange(1000), 3))
    assert not np.array_equal(whole, hash_uniform(5, np.arange(1000), 4))


def test_hash_uniform_looks_uniform() -> None:
    values = hash_uniform(1, np.arange(200_000))
    assert values.min() >= 0.0
    assert values.max() < 1.0
    assert abs(values.mean() - 0.5) < 0.005
    counts = np.histogram(values, bins=10, range=(0.0, 1.0))[0]
    assert counts.min() > 19_000


def test_hash_broadcasts_and_accepts_negative_keys() -> None:
    grid = hash_uint64(0, np.arange(3)[:, None], np.arange(4)[None, :])
    assert grid.shape == (3, 4)
    assert len(np.unique(grid)) == 12
    assert hash_uniform(-1, np.array([-7])).shape == (1,)


def test_hash_normal_moments() -> None:
    values = hash_normal(3, np.arange(100_000))
    assert abs(values.mean()) < 0.02
    assert abs(values.std() - 1.0) < 0.02


def test_child_rng_is_reproducible_and_stage_specific() -> None:
    assert child_rng(1, 2).random() == child_rng(1, 2).random()
    assert child_rng(1, 2).random() != child_rng(1, 3).random()
