"""The guided filter of ab by L: its colour edges move onto L's, flat colour stays, bad shapes are refused."""

import pytest
import torch

from colorize.guided_filter import apply_coefficients, guided_coefficients, guided_filter
from colorize.metrics import edge_chroma_sharpness
from colorize.models.pixcolor import PixColor, PixColorConfig


def step_photo(size: int = 64, blur: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    """L with a sharp vertical edge in the middle, and ab whose step there is a ramp ``2·blur`` wide."""
    columns = torch.arange(size, dtype=torch.float32)
    lightness = torch.where(columns < size // 2, 30.0, 70.0).expand(1, 1, size, size).clone()
    ramp = ((columns - size // 2 + blur) / (2 * blur)).clamp(0, 1)  # 0 → 1 across the edge, soft
    ab = torch.stack([40 * ramp - 20, -30 * ramp + 10])[:, None, :].expand(1, 2, size, size).clone()
    return lightness, ab


def test_a_soft_colour_step_is_put_on_the_lightness_edge():
    lightness, ab = step_photo()
    filtered = guided_filter(lightness, ab, radius=4, eps=25.0)
    l_np = lightness[0, 0].double().numpy()
    before = edge_chroma_sharpness(l_np, ab[0].permute(1, 2, 0).double().numpy())
    after = edge_chroma_sharpness(l_np, filtered[0].permute(1, 2, 0).double().numpy())
    assert after > 1.5 * before
    # Away from the edge the colour is what it was.
    assert torch.allclose(filtered[..., :, :20], ab[..., :, :20], atol=0.5)
    assert torch.allclose(filtered[..., :, -20:], ab[..., :, -20:], atol=0.5)


def test_flat_colour_and_grain_stay_flat():
    generator = torch.Generator().manual_seed(0)
    lightness = 50 + 3 * torch.randn(1, 1, 48, 48, generator=generator)  # grain, no edge
    ab = torch.tensor([12.0, -7.0]).view(1, 2, 1, 1).expand(3, 2, 48, 48)
    filtered = guided_filter(lightness, ab)
    assert filtered.shape == (3, 2, 48, 48)
    assert torch.allclose(filtered, ab, atol=1e-3)


def test_each_sample_is_filtered_by_its_own_photo():
    """ab (B·N, 2, S, S) image-major: sample k of image i is guided by image i's L."""
    l_step, ab_step = step_photo(32)
    l_flat = torch.full_like(l_step, 50.0)
    lightness = torch.cat([l_step, l_flat])
    ab = ab_step.repeat(4, 1, 1, 1)  # 2 images × 2 samples
    filtered = guided_filter(lightness, ab)
    assert torch.allclose(filtered[0], guided_filter(l_step, ab_step)[0])
    assert torch.allclose(filtered[3], guided_filter(l_flat, ab_step)[0])
    coefficients = guided_coefficients(lightness, ab)
    assert coefficients.shape == (4, 4, 32, 32)
    assert torch.allclose(apply_coefficients(coefficients, lightness.repeat_interleave(2, 0)), filtered)


@pytest.mark.parametrize("l_shape, ab_shape", [((1, 1, 8, 8), (1, 3, 8, 8)), ((2, 1, 8, 8), (3, 2, 8, 8)),
                                               ((1, 1, 8, 8), (1, 2, 8, 9)), ((1, 8, 8), (1, 2, 8, 8))])
def test_mismatched_shapes_are_refused(l_shape, ab_shape):
    with pytest.raises(ValueError):
        guided_filter(torch.zeros(l_shape), torch.zeros(ab_shape))


def test_the_colorizer_applies_it_only_when_its_config_asks():
    model = PixColor.from_preset("tiny").eval()
    torch.manual_seed(0)
    l_work = 100 * torch.rand(1, 1, 224, 224)
    bins = torch.randint(0, 32, (2, 2, 28, 28))
    plain = model.refine(l_work, bins)
    model.config.edge_radius = 4
    filtered = model.refine(l_work, bins)
    assert torch.allclose(filtered, guided_filter(l_work, plain, 4, model.config.edge_eps))
    with pytest.raises(ValueError):
        PixColorConfig(edge_radius=-1)
