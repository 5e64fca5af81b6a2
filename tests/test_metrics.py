"""Evaluation metrics: closed-form values, skimage agreement, invariances, errors."""

import itertools
import math

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from colorize.metrics import (
    best_and_mean,
    colourfulness,
    mean_pairwise_ab_distance,
    psnr,
    ssim,
)


def _smooth_rgb(h: int = 32, w: int = 40) -> np.ndarray:
    """A smooth colour image in [0, 1]: structure that noise does not share."""
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    channels = [np.sin(3 * xx + 1), np.cos(4 * yy), np.sin(2 * xx + 3 * yy)]
    return (np.stack(channels, -1) + 1) / 2


def _checker(h: int, w: int, a, b) -> np.ndarray:
    """(h, w, 3) checkerboard of RGB colours a and b."""
    mask = (np.add.outer(np.arange(h), np.arange(w)) % 2 == 0)[..., None]
    return np.where(mask, np.asarray(a, float), np.asarray(b, float))


# --- PSNR -------------------------------------------------------------------


def test_psnr_constant_offset_is_20_db():
    target = np.full((8, 9, 3), 0.5)
    # MSE = 0.1^2 = 0.01 -> 10 log10(1 / 0.01) = 20 dB.
    assert psnr(target + 0.1, target) == pytest.approx(20.0, abs=1e-9)


def test_psnr_matches_mse_formula():
    rng = np.random.default_rng(0)
    target = rng.random((16, 12, 3))
    pred = np.clip(target + rng.normal(0, 0.05, target.shape), 0, 1)
    mse = np.mean((pred - target) ** 2)
    assert psnr(pred, target) == pytest.approx(10 * math.log10(1 / mse), rel=1e-12)


def test_psnr_identical_is_inf():
    image = _smooth_rgb()
    assert psnr(image, image.copy()) == float("inf")


# --- SSIM -------------------------------------------------------------------


def test_ssim_identical_is_one():
    image = _smooth_rgb()
    assert ssim(image, image.copy()) == pytest.approx(1.0, abs=1e-12)


def test_ssim_image_vs_noise_is_low():
    image = _smooth_rgb()
    noise = np.random.default_rng(1).random(image.shape)
    assert ssim(noise, image) < 0.5


def test_ssim_matches_skimage_default_window():
    rng = np.random.default_rng(2)
    target = _smooth_rgb()
    pred = np.clip(target + rng.normal(0, 0.1, target.shape), 0, 1)
    expected = structural_similarity(target, pred, channel_axis=-1, data_range=1.0)
    assert ssim(pred, target) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    "shape, win_size", [((5, 9, 3), 5), ((6, 6, 3), 5), ((4, 8, 3), 3), ((3, 3, 3), 3)]
)
def test_ssim_small_images_use_largest_odd_window(shape, win_size):
    rng = np.random.default_rng(3)
    target, pred = rng.random(shape), rng.random(shape)
    expected = structural_similarity(
        target, pred, win_size=win_size, channel_axis=-1, data_range=1.0
    )
    assert ssim(pred, target) == pytest.approx(expected, rel=1e-12)
    assert ssim(target, target.copy()) == pytest.approx(1.0, abs=1e-12)


def test_ssim_rejects_images_below_3_px():
    image = np.zeros((2, 10, 3))
    with pytest.raises(ValueError, match="at least 3 px"):
        ssim(image, image)


# --- colourfulness ----------------------------------------------------------


def test_colourfulness_of_gray_is_zero():
    gray = np.random.default_rng(4).random((10, 11, 1)).repeat(3, axis=-1)
    assert colourfulness(gray) == 0.0


def test_colourfulness_hand_computed_two_pixels():
    # Pixels pure red and pure blue, at 0-255: rg = (255, 0), yb = (127.5, -255).
    # mean rg = 127.5, mean yb = -63.75; population std rg = 127.5, yb = 191.25.
    # sqrt(127.5^2 + 191.25^2) = 63.75 sqrt(13); sqrt(127.5^2 + 63.75^2) = 63.75 sqrt(5).
    image = np.array([[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]])  # (1, 2, 3)
    expected = 63.75 * (math.sqrt(13) + 0.3 * math.sqrt(5))
    assert colourfulness(image) == pytest.approx(expected, rel=1e-12)


def test_colourfulness_drops_when_desaturated():
    saturated = _checker(6, 8, (1, 0, 0), (0, 1, 0))
    # Halfway towards each pixel's own gray: rg and yb are linear in RGB and
    # zero on gray, so they halve, and so does M.
    gray = saturated.mean(axis=-1, keepdims=True).repeat(3, axis=-1)
    half = 0.5 * saturated + 0.5 * gray
    m_saturated, m_half = colourfulness(saturated), colourfulness(half)
    assert m_saturated > m_half > 0
    assert m_half == pytest.approx(0.5 * m_saturated, rel=1e-12)


# --- diversity --------------------------------------------------------------


def test_pairwise_distance_of_identical_samples_is_zero():
    sample = np.random.default_rng(5).normal(0, 30, (1, 2, 4, 5))
    assert mean_pairwise_ab_distance(sample.repeat(4, axis=0)) == 0.0


def test_pairwise_distance_3_4_5():
    samples = np.zeros((2, 2, 3, 4))
    samples[1, 0], samples[1, 1] = 3.0, 4.0
    assert mean_pairwise_ab_distance(samples) == pytest.approx(5.0, abs=1e-12)


def test_pairwise_distance_three_samples_hand_computed():
    # A 1x2 image. s0 = 0 everywhere; s1 has ab (3, 4) at pixel 0;
    # s2 has ab (6, 8) at pixel 1. Per-pair pixel means:
    # (s0, s1) = (5 + 0) / 2 = 2.5, (s0, s2) = (0 + 10) / 2 = 5,
    # (s1, s2) = (5 + 10) / 2 = 7.5; mean over the 3 pairs = 5.
    # (Distance of pixel-mean ab would give 10/3; ordered pairs with i == j, 10/3.)
    samples = np.zeros((3, 2, 1, 2))
    samples[1, :, 0, 0] = (3.0, 4.0)
    samples[2, :, 0, 1] = (6.0, 8.0)
    assert mean_pairwise_ab_distance(samples) == pytest.approx(5.0, abs=1e-12)


def test_pairwise_distance_matches_brute_force():
    samples = np.random.default_rng(6).normal(0, 40, (5, 2, 3, 4)).astype(np.float32)
    pairs = [
        np.sqrt(((samples[i].astype(np.float64) - samples[j]) ** 2).sum(axis=0)).mean()
        for i, j in itertools.combinations(range(5), 2)
    ]
    assert mean_pairwise_ab_distance(samples) == pytest.approx(np.mean(pairs), rel=1e-6)


def test_pairwise_distance_rejects_one_sample():
    with pytest.raises(ValueError, match="at least 2 samples"):
        mean_pairwise_ab_distance(np.zeros((1, 2, 4, 4)))


@pytest.mark.parametrize("shape", [(3, 3, 4, 4), (2, 4, 4), (2, 2, 4, 4, 1)])
def test_pairwise_distance_rejects_bad_shape(shape):
    with pytest.raises(ValueError, match=r"\(N, 2, H, W\)"):
        mean_pairwise_ab_distance(np.zeros(shape))


# --- best_and_mean ------------------------------------------------------------


def test_best_and_mean():
    assert best_and_mean([1.0, 3.0, 2.0]) == (3.0, 2.0)
    assert best_and_mean([1.0, 3.0, 2.0], higher_is_better=False) == (1.0, 2.0)
    with pytest.raises(ValueError, match="non-empty"):
        best_and_mean([])
    with pytest.raises(ValueError, match="NaN"):
        best_and_mean([1.0, float("nan")])


# --- input checks -------------------------------------------------------------


@pytest.mark.parametrize("metric", [psnr, ssim])
def test_pair_metrics_reject_mismatched_shapes(metric):
    with pytest.raises(ValueError, match="same shape"):
        metric(np.zeros((8, 8, 3)), np.zeros((8, 9, 3)))


@pytest.mark.parametrize(
    "image, match",
    [
        (np.zeros((3, 8, 8)), r"\(H, W, 3\)"),  # channels-first
        (np.zeros((8, 8)), r"\(H, W, 3\)"),
        (np.zeros((8, 8, 3), dtype=np.uint8), "float"),
        (np.full((8, 8, 3), 255.0), r"\[0, 1\]"),  # forgot to scale
        (np.full((8, 8, 3), -0.01), r"\[0, 1\]"),
        (np.full((8, 8, 3), np.nan), "NaN"),
    ],
)
def test_bad_images_raise_value_error(image, match):
    with pytest.raises(ValueError, match=match):
        colourfulness(image)
    with pytest.raises(ValueError, match=match):
        psnr(image, image)


def test_float_rounding_outside_unit_range_is_accepted():
    image = np.full((8, 8, 3), 0.5)
    image[0, 0] = (1.00005, -0.00005, 0.5)
    assert colourfulness(image) > 0


def test_torch_tensor_is_rejected():
    with pytest.raises(TypeError, match="numpy array"):
        colourfulness(torch.zeros(8, 8, 3))
    with pytest.raises(TypeError, match="numpy array"):
        mean_pairwise_ab_distance(torch.zeros(2, 2, 4, 4))
