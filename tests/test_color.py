"""Colour ops against scikit-image, round trips, quantizers, gradcheck, errors."""

import numpy as np
import pytest
import torch
from skimage.color import lab2rgb, rgb2lab

from colorize.color import (
    AB_MAX,
    AB_MIN,
    NUM_AB_BINS,
    classes_to_unit,
    denormalize_ab,
    denormalize_l,
    dequantize_ab,
    dequantize_rgb,
    lab_to_rgb,
    normalize_ab,
    normalize_l,
    quantize_ab,
    quantize_rgb,
    rgb_to_gray,
    rgb_to_lab,
)

# kornia's conversion is a translation of skimage's, so the only difference is
# float32 vs float64 arithmetic: measured max |diff| is ~6e-5 Lab units over a
# 64^3 RGB grid. 1e-3 leaves headroom and is still ~1000x below a just-
# noticeable colour difference, so any real formula error fails.
LAB_ATOL = 1e-3


def _random_rgb(seed: int, shape=(3, 8, 9)) -> torch.Tensor:
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed))


def _skimage_lab(rgb: torch.Tensor) -> np.ndarray:
    """(3, H, W) tensor -> skimage Lab as (3, H, W) array."""
    return rgb2lab(rgb.permute(1, 2, 0).double().numpy()).transpose(2, 0, 1)


def test_rgb_to_lab_matches_skimage():
    rgb = _random_rgb(0)
    np.testing.assert_allclose(rgb_to_lab(rgb).numpy(), _skimage_lab(rgb), atol=LAB_ATOL)


def test_lab_to_rgb_matches_skimage():
    lab = rgb_to_lab(_random_rgb(1))
    expected = lab2rgb(lab.permute(1, 2, 0).double().numpy()).transpose(2, 0, 1)
    np.testing.assert_allclose(lab_to_rgb(lab).numpy(), expected, atol=1e-4)


def test_batched_shape_and_round_trip():
    rgb = _random_rgb(2, (2, 4, 3, 5, 6))
    lab = rgb_to_lab(rgb)
    assert lab.shape == rgb.shape
    torch.testing.assert_close(lab_to_rgb(lab), rgb, atol=1e-4, rtol=0)


@pytest.mark.parametrize(
    "color, expected_l",
    [((0.0, 0.0, 0.0), 0.0), ((1.0, 1.0, 1.0), 100.0), ((0.5, 0.5, 0.5), None)],
)
def test_neutral_colors_have_zero_chroma(color, expected_l):
    rgb = torch.tensor(color).view(3, 1, 1).expand(3, 2, 2)
    lab = rgb_to_lab(rgb)
    if expected_l is not None:
        torch.testing.assert_close(lab[0], torch.full((2, 2), expected_l), atol=1e-3, rtol=0)
    assert lab[1:].abs().max() < 1e-2


PRIMARIES = [(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (0, 1, 1), (1, 0, 1)]


@pytest.mark.parametrize("color", PRIMARIES)
def test_saturated_primaries_match_skimage(color):
    rgb = torch.tensor(color, dtype=torch.float32).view(3, 1, 1)
    lab = rgb_to_lab(rgb)
    np.testing.assert_allclose(lab.numpy(), _skimage_lab(rgb), atol=LAB_ATOL)
    # Every sRGB primary must quantize inside [AB_MIN, AB_MAX], not be clamped.
    assert AB_MIN < lab[1:].min() and lab[1:].max() < AB_MAX


def test_rgb_to_gray_is_lab_lightness():
    rgb = _random_rgb(3, (2, 3, 4, 4))
    gray = rgb_to_gray(rgb)
    assert gray.shape == (2, 1, 4, 4)
    torch.testing.assert_close(gray, rgb_to_lab(rgb)[:, :1])


def test_rgb_to_lab_gradcheck():
    # Away from 0, where the sRGB curve's pow() has an infinite derivative.
    rgb = (0.1 + 0.8 * torch.rand(1, 3, 2, 2, dtype=torch.float64)).requires_grad_()
    assert torch.autograd.gradcheck(rgb_to_lab, (rgb,))


def test_normalization_round_trip_and_range():
    lightness = torch.tensor([0.0, 50.0, 100.0])
    torch.testing.assert_close(normalize_l(lightness), torch.tensor([-1.0, 0.0, 1.0]))
    torch.testing.assert_close(denormalize_l(normalize_l(lightness)), lightness)
    ab = torch.linspace(-110, 110, 7)
    assert normalize_ab(ab).abs().max() <= 1.0
    torch.testing.assert_close(denormalize_ab(normalize_ab(ab)), ab)


@pytest.mark.parametrize("num_bins", [2, 7, NUM_AB_BINS])
def test_quantize_ab_error_within_half_bin(num_bins):
    ab = torch.linspace(AB_MIN, AB_MAX, 1001)
    bins = quantize_ab(ab, num_bins)
    assert bins.dtype == torch.int64 and bins.shape == ab.shape
    assert bins.min() == 0 and bins.max() == num_bins - 1
    assert (bins.diff() >= 0).all()
    half = (AB_MAX - AB_MIN) / num_bins / 2
    assert (dequantize_ab(bins, num_bins) - ab).abs().max() <= half + 1e-4


def test_quantize_ab_clamps_outside_range():
    bins = quantize_ab(torch.tensor([-1000.0, AB_MIN - 1, AB_MAX + 1, 1000.0]))
    assert bins.tolist() == [0, 0, NUM_AB_BINS - 1, NUM_AB_BINS - 1]


def test_neutral_gray_is_a_bin_centre():
    centres = dequantize_ab(torch.arange(NUM_AB_BINS))
    assert centres.dtype == torch.float32
    assert centres[NUM_AB_BINS // 2] == 0.0
    assert quantize_ab(torch.zeros(2, 3, 3)).unique().tolist() == [NUM_AB_BINS // 2]
    assert centres[0] < -100 and centres[-1] > 100  # the gamut's extremes keep their own bins
    assert quantize_ab(centres).tolist() == list(range(NUM_AB_BINS))


def test_rgb_quantizer_round_trip():
    levels = torch.arange(256)
    torch.testing.assert_close(quantize_rgb(dequantize_rgb(levels)), levels)
    torch.testing.assert_close(dequantize_rgb(torch.tensor([0, 255])), torch.tensor([0.0, 1.0]))
    assert quantize_rgb(torch.tensor([0.0, 1.0]), num_classes=4).tolist() == [0, 3]


def test_classes_to_unit():
    out = classes_to_unit(torch.tensor([0, 1, 2]), 3)
    torch.testing.assert_close(out, torch.tensor([-1.0, 0.0, 1.0]))
    out = classes_to_unit(torch.arange(256), 256)
    assert out.min() == -1.0 and out.max() == 1.0


def test_errors():
    with pytest.raises(ValueError, match=r"\(\.\.\., 3, H, W\)"):
        rgb_to_lab(torch.rand(4, 8, 8))
    with pytest.raises(ValueError, match="floating-point"):
        rgb_to_lab(torch.zeros(3, 2, 2, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"\(\.\.\., 3, H, W\)"):
        lab_to_rgb(torch.rand(8, 8))
    with pytest.raises(TypeError, match="torch.Tensor"):
        rgb_to_lab(np.zeros((3, 2, 2)))
    with pytest.raises(ValueError, match="num_bins"):
        quantize_ab(torch.zeros(3), num_bins=1)
    with pytest.raises(ValueError, match="NaN"):
        quantize_ab(torch.tensor([float("nan")]))
    with pytest.raises(ValueError, match=r"in \[0, 32\)"):
        dequantize_ab(torch.tensor([0, 32]))
    with pytest.raises(ValueError, match=r"in \[0, 32\)"):
        dequantize_ab(torch.tensor([-1]))
    with pytest.raises(ValueError, match="integer"):
        dequantize_ab(torch.tensor([1.0]))
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        quantize_rgb(torch.tensor([255.0]))
    with pytest.raises(ValueError, match=r"in \[0, 256\)"):
        dequantize_rgb(torch.tensor([256]))
    with pytest.raises(ValueError, match="num_classes"):
        classes_to_unit(torch.tensor([0]), 1)
    with pytest.raises(ValueError, match=r"in \[0, 4\)"):
        classes_to_unit(torch.tensor([4]), 4)
