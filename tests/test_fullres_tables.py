"""The full-resolution join's tables: L from 8-bit levels, and the 8-bit sRGB encoding by thresholds."""

import numpy as np
import pytest
import torch

from colorize.color import rgb_to_gray
from colorize.fullres import SRGB_BUCKETS, lightness_of, lightness_of_levels, srgb_level_table, srgb_levels
from colorize.image_io import array_to_rgb


def srgb_formula(linear: torch.Tensor) -> torch.Tensor:
    """round(255 · sRGB(clip(v))) by the formula, as the merge computed it before the table."""
    srgb = torch.where(linear > 0.0031308, 1.055 * linear.clamp(min=0.0031308).pow(1 / 2.4) - 0.055,
                       12.92 * linear)
    return srgb.clamp(0, 1).mul(255).round().to(torch.uint8)


# kornia's own arithmetic differs by one float32 ulp between CPUs (7 % of the pixels
# by 7.6e-6 on an AVX512 machine, none on another): the tables must be within it.
ULP_AT_100 = 7.7e-6


def test_lightness_from_levels_is_kornias_to_the_ulp():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    rgb[0, :256] = np.arange(256, dtype=np.uint8)[:, None]  # every gray level
    expected = rgb_to_gray(array_to_rgb(rgb))[0]
    torch.testing.assert_close(lightness_of_levels(torch.from_numpy(rgb)), expected, rtol=0, atol=ULP_AT_100)
    banded = lightness_of(rgb[::-1], torch.device("cpu"), strip_pixels=4000)  # negative strides, 10 rows a band
    torch.testing.assert_close(banded[0, 0], expected.flip(0), rtol=0, atol=ULP_AT_100)
    with pytest.raises(ValueError, match="uint8"):
        lightness_of(rgb.astype(np.uint16), torch.device("cpu"))


def test_each_bucket_holds_at_most_one_threshold():
    base, following = srgb_level_table(torch.device("cpu"))
    assert base.shape == following.shape == (SRGB_BUCKETS + 1,)
    assert torch.all(base[1:].int() - base[:-1].int() <= 1) and base[0] == 0 and base[-1] == 255
    edges = torch.arange(SRGB_BUCKETS + 1, dtype=torch.float64) / SRGB_BUCKETS
    assert torch.all(following.double()[:-1] >= edges[:-1])
    assert torch.isinf(following[base == 255]).all()


def test_the_threshold_table_gives_the_formulas_levels():
    generator = torch.Generator().manual_seed(1)
    linear = torch.cat([torch.rand(2_000_000, generator=generator) ** 3,  # dense near black
                        torch.rand(500_000, generator=generator) * 3 - 1,  # clipped on both sides
                        torch.tensor([0.0, 0.0031308, 1.0, -5.0, 7.0, float("inf"), float("-inf")])])
    got, expected = srgb_levels(linear), srgb_formula(linear)
    difference = (got.int() - expected.int()).abs()
    # Only where the float formula lands within its last bit of a threshold.
    assert difference.max() <= 1 and (difference > 0).float().mean() < 2e-5
    assert srgb_levels(torch.tensor([-1.0, 0.0, 1.0, 9.0, float("inf")])).tolist() == [0, 0, 255, 255, 255]
    out = torch.zeros(4, 3, dtype=torch.uint8)
    srgb_levels(torch.full((4,), 0.5), out=out[:, 1])  # a strided view
    assert out[:, 1].tolist() == [188] * 4 and out[:, [0, 2]].sum() == 0
