"""The old-print degradation and the low-res corruption: seeded, in range, and doing what they say."""

import numpy as np
import pytest
import torch

from colorize.metrics import edge_chroma_sharpness
from colorize.old_print import old_print
from pipelines.corpus import HELD_OUT_SOURCES, photo_source, split_images
from pipelines.lowres_corruption import corrupt_bins, corruption_rate


def test_old_prints_are_seeded_in_range_and_leave_the_input_alone():
    lightness = torch.rand(4, 1, 48, 64) * 100
    before = lightness.clone()
    first = old_print(lightness, torch.Generator().manual_seed(3))
    again = old_print(lightness, torch.Generator().manual_seed(3))
    other = old_print(lightness, torch.Generator().manual_seed(4))
    assert torch.equal(lightness, before)
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert first.shape == lightness.shape and first.min() >= 0 and first.max() <= 100
    assert (first - lightness).abs().mean() > 1  # visibly degraded


def test_an_old_print_loses_contrast_and_detail():
    torch.manual_seed(0)
    stripes = torch.zeros(8, 1, 64, 64)
    stripes[..., ::2] = 100.0  # the finest detail there is, full contrast
    prints = old_print(stripes, torch.Generator().manual_seed(0))
    assert prints.std(dim=(1, 2, 3)).mean() < stripes.std(dim=(1, 2, 3)).mean()


def test_probability_zero_changes_nothing_and_one_picks_every_image():
    lightness = torch.rand(3, 1, 32, 32) * 100
    assert torch.equal(old_print(lightness, torch.Generator().manual_seed(0), probability=0.0), lightness)
    changed = old_print(lightness, torch.Generator().manual_seed(0), probability=1.0)
    assert all(not torch.equal(changed[i], lightness[i]) for i in range(3))
    with pytest.raises(ValueError, match="probability"):
        old_print(lightness, probability=1.5)
    with pytest.raises(ValueError, match="lightness"):
        old_print(lightness[:, 0])


def test_corrupted_bins_stay_bins_and_touch_only_picked_crops():
    bins = torch.randint(0, 32, (6, 2, 28, 28))
    generator = torch.Generator().manual_seed(0)
    corrupted = corrupt_bins(bins, 1.0, generator)
    assert corrupted.dtype == torch.long and corrupted.min() >= 0 and corrupted.max() < 32
    assert 0.2 < corruption_rate(bins, corrupted) < 0.9  # jitter everywhere, most cells kept or near
    assert (corrupted - bins).abs().float().median() <= 1
    assert torch.equal(corrupt_bins(bins, 0.0, generator), bins)
    with pytest.raises(ValueError, match="bins"):
        corrupt_bins(bins.float(), 0.5)


def test_edge_sharpness_is_high_for_colour_that_stops_at_the_edge():
    lightness = np.zeros((32, 32))
    lightness[:, 16:] = 80
    sharp = np.zeros((32, 32, 2))
    sharp[:, 16:, 0] = 40
    rng = np.random.default_rng(0)
    sharp += rng.normal(0, 1, sharp.shape)  # texture everywhere, as in a photo
    bled = sharp.copy()
    bled[:, 8:24, 0] = np.linspace(0, 40, 16)  # the step spread over 16 px
    assert edge_chroma_sharpness(lightness, sharp) > 3 * edge_chroma_sharpness(lightness, bled)
    with pytest.raises(ValueError):
        edge_chroma_sharpness(lightness, sharp[..., :1])


def test_held_out_sources_never_train(tmp_path):
    from PIL import Image

    for name in ("camvid-a.png", "urban100-b.png", "utkface-c.png", "food-d.png", "food-e.png"):
        Image.new("RGB", (8, 8), (len(name) * 9 % 255, 10, 20)).save(tmp_path / name)
    held_out = split_images(tmp_path, "heldout")
    train = split_images(tmp_path, "train")
    val = split_images(tmp_path, "val") or []
    assert {p.name for p in held_out} == {"camvid-a.png", "urban100-b.png"}
    assert not {p.name for p in train + val} & {p.name for p in held_out}
    assert {photo_source(p) for p in held_out} <= HELD_OUT_SOURCES
    assert len(train) + len(val) == 3
