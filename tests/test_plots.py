"""Tiled filter and sample images, like the tutorial's tile_raster_images."""

from __future__ import annotations

import matplotlib.image
import numpy as np
import pytest

from dltutorials.drawing.plots import save_filters, save_samples, tile_images


def test_tiles_are_placed_row_major_with_one_pixel_gaps_and_scaled_per_image():
    rows = np.stack([np.full(6, 2.0 * i) for i in range(5)])
    rows[:, 0] = -1.0  # each image spans [-1, 2i]: scaled to [0, 1] independently
    grid = tile_images(rows, (2, 3), (2, 3))
    assert grid.shape == (2 * 3 - 1, 3 * 4 - 1)
    assert grid[0, 0] == 0.0 and grid[0, 1] == pytest.approx(1.0, abs=1e-6)  # image 0 (all -1 then 0)
    assert np.all(grid[:, 3] == 0) and np.all(grid[2, :] == 0)  # the gaps
    np.testing.assert_allclose(grid[3:5, 4:7].ravel()[1:], 1.0, atol=1e-6)  # image 4 at row 1, column 1
    assert np.all(grid[3:5, 8:11] == 0), "tiles beyond the rows given stay black"


def test_tile_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="image_shape"):
        tile_images(np.zeros((3, 10)), (3, 3), (1, 3))


def test_filters_and_samples_are_written_as_png(tmp_path):
    save_filters(tmp_path / "f.png", np.random.default_rng(0).normal(size=(100, 784)))
    image = matplotlib.image.imread(tmp_path / "f.png")
    assert image.shape[:2] == (10 * 29 - 1, 10 * 29 - 1)
    samples = np.random.default_rng(0).random((10, 20, 784))
    save_samples(tmp_path / "s.png", samples)
    assert matplotlib.image.imread(tmp_path / "s.png").shape[:2] == (10 * 29 - 1, 20 * 29 - 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.png", "s.png"]


def test_sample_chains_start_at_a_seeded_random_offset_like_the_tutorials_test_idx():
    from dltutorials.config import ConfigError
    from dltutorials.drawing.figures import chain_starts

    test_x = np.arange(1000, dtype=np.float32).reshape(100, 10)  # row i holds 10 i .. 10 i + 9
    starts = {seed: chain_starts(test_x, 20, seed) for seed in range(10)}
    for seed, rows in starts.items():
        first = int(rows[0, 0]) // 10
        np.testing.assert_array_equal(rows, test_x[first:first + 20])  # consecutive digits
        np.testing.assert_array_equal(rows, chain_starts(test_x, 20, seed))  # the same for the same seed
    assert len({int(rows[0, 0]) for rows in starts.values()}) > 5, "the offset depends on the seed"
    with pytest.raises(ConfigError, match="n_chains must be in"):
        chain_starts(test_x, 101, 0)
