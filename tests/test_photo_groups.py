"""Several photos in one decoder pass: each gets the colorizations it gets alone."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from colorize import Colorizer, batch
from colorize.batch import groups
from colorize.fullres import lightness_of
from colorize.models.gated_pixelcnn_cache import CachedGatedSampler
from colorize.models.pixcolor import PixColor
from colorize.sampling import draw_noise

SIZES = [(37, 53), (300, 200), (64, 64)]  # smaller and larger than the working size


@pytest.fixture(scope="module")
def colorizer():
    torch.manual_seed(0)
    model = PixColor.from_preset("tiny")
    model.config.context_noise = 0.1
    model.add_hint_inputs()
    with torch.no_grad():  # as if trained, so that the hints change the output
        model.conditioning.adapter.project_hints.weight.normal_(0, 1.0)
        model.refinement.stem_hints.weight.normal_(0, 1.0)
    model.add_hint_refinement()
    with torch.no_grad():
        for parameter in model.hint_refinement.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
    return Colorizer(model, torch.device("cpu"), refine_bf16=False)


@pytest.fixture(scope="module")
def photos():
    rng = np.random.default_rng(1)
    return [lightness_of(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), torch.device("cpu"))
            for h, w in SIZES]


def alone(colorizer, lightness, seed, hint_map=None, select="drawn", draws=None, num_samples=3):
    merged = list(colorizer._iter_samples(lightness, num_samples, seed=seed, hints=hint_map, select=select,
                                         draws=draws))
    return np.stack([pixels.copy() for pixels, _ in merged]), [bits for _, bits in merged]


@pytest.mark.parametrize("select", ["drawn", "likely"])
def test_photos_together_get_what_each_gets_alone(colorizer, photos, select):
    draws = None if select == "drawn" else 6
    hint_maps = [None, colorizer.hint_map([(150, 40, "#d02020"), (10, 250, (20, 40, 200))], 200, 300), None]
    seeds = [5, 6, 5]
    together = colorizer.draw_photos_chroma(photos, 3, seeds=seeds, select=select, draws=draws,
                                            hint_maps=hint_maps)
    assert len(together) == len(photos)
    for lightness, seed, hint_map, (ab_work, bits) in zip(photos, seeds, hint_maps, together):
        images, alone_bits = alone(colorizer, lightness, seed, hint_map, select, draws)
        merged = list(colorizer.iter_merged(lightness, ab_work, bits))
        np.testing.assert_allclose(bits.tolist(), alone_bits, rtol=1e-9)
        # The refinement's floats may differ in their last bits between batch sizes.
        difference = np.abs(np.stack([p for p, _ in merged]).astype(int) - images.astype(int))
        assert difference.max() <= 1
    assert not torch.equal(together[0][0], together[1][0])  # each photo its own draws


def test_one_generator_per_photo_draws_each_photos_noise():
    generators = [torch.Generator().manual_seed(s) for s in (1, 2)]
    gumbel, context = draw_noise(4, 5, 3, generators, context_noise=0.1)
    for photo, seed in enumerate((1, 2)):
        own, own_context = draw_noise(2, 5, 3, torch.Generator().manual_seed(seed), context_noise=0.1)
        assert torch.equal(gumbel[2 * photo:2 * photo + 2], own)
        assert torch.equal(context[2 * photo:2 * photo + 2], own_context)
    with pytest.raises(ValueError, match="multiple"):
        draw_noise(3, 5, 3, generators)


def test_a_group_checks_its_lists(colorizer, photos):
    assert colorizer.draw_photos_chroma([]) == []
    with pytest.raises(ValueError, match="one seed"):
        colorizer.draw_photos_chroma(photos, 2, seeds=[1])


def test_a_model_without_hint_inputs_groups_photos(photos):
    torch.manual_seed(3)
    plain = Colorizer(PixColor.from_preset("tiny"), torch.device("cpu"), refine_bf16=False)
    together = plain.draw_photos_chroma(photos[:2], 2, seeds=[4, 7])
    for lightness, seed, (ab_work, bits) in zip(photos, (4, 7), together):
        images, alone_bits = alone(plain, lightness, seed, num_samples=2)
        np.testing.assert_allclose(bits.tolist(), alone_bits, rtol=1e-9)
        merged = np.stack([p for p, _ in plain.iter_merged(lightness, ab_work, bits)])
        assert np.abs(merged.astype(int) - images.astype(int)).max() <= 1


@pytest.fixture
def folder(tmp_path):
    in_dir = tmp_path / "in"
    in_dir.mkdir()
    rng = np.random.default_rng(2)
    for name, (h, w) in zip("abc", SIZES):
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(in_dir / f"{name}.png")
    (in_dir / "broken.png").write_bytes(b"not a png")  # fails in the middle of a group
    return in_dir


def sampler_batches(monkeypatch) -> list[int]:
    """Record the batch size of every cached sampler call."""
    sizes, original = [], CachedGatedSampler.sample

    def recording(self, noise, *args, **kwargs):
        sizes.append(noise.shape[0])
        return original(self, noise, *args, **kwargs)

    monkeypatch.setattr(CachedGatedSampler, "sample", recording)
    return sizes


@pytest.mark.parametrize("group_pixels, batches", [(groups.GROUP_PIXELS, [6]), (1, [2, 2, 2])])
def test_a_batch_draws_its_photos_in_groups(folder, checkpoint, monkeypatch, tmp_path, group_pixels, batches):
    """Three photos at two samples share one decoder pass, unless the pixel bound closes each
    group at one photo; either way each photo's outputs are the API's with the same seed."""
    colorizer = Colorizer.from_pretrained(checkpoint, device="cpu")
    monkeypatch.setattr(groups, "GROUP_PIXELS", group_pixels)
    sizes = sampler_batches(monkeypatch)
    result = batch.colorize_folder(colorizer, folder, tmp_path / "out", batch.BatchOptions(num_samples=2, seed=3),
                                   log=io.StringIO())
    assert (result.done, result.failed) == (3, 1) and sizes == batches
    for name in "abc":
        expected = colorizer.colorize(folder / f"{name}.png", num_samples=2, seed=3)
        for n, image in enumerate(expected):
            with Image.open(tmp_path / "out" / f"{name}_{n}.png") as written:
                assert np.array_equal(np.asarray(written), np.asarray(image)), name


def test_a_group_takes_at_most_its_draws():
    assert groups.group_photos(batch.BatchOptions(num_samples=4)) == groups.GROUP_DRAWS // 4
    assert groups.group_photos(batch.BatchOptions(num_samples=1)) == groups.GROUP_MAX_PHOTOS
    assert groups.group_photos(batch.BatchOptions(num_samples=200)) == 1
    assert groups.group_photos(batch.BatchOptions(num_samples=2, select="likely", draws=8)) == groups.GROUP_DRAWS // 8


def test_ctrl_c_while_a_group_is_read_leaves_no_lock_files(folder, checkpoint, monkeypatch, tmp_path):
    colorizer = Colorizer.from_pretrained(checkpoint, device="cpu")
    real_open = groups.open_photo
    opened = []

    def interrupted_open(colorizer, job, options):
        if opened:  # the second photo of the group: Ctrl-C while it is read
            raise KeyboardInterrupt
        opened.append(job)
        return real_open(colorizer, job, options)

    monkeypatch.setattr(groups, "open_photo", interrupted_open)
    out_dir = tmp_path / "out"
    result = batch.colorize_folder(colorizer, folder, out_dir, batch.BatchOptions(num_samples=2, seed=3),
                                   log=io.StringIO())
    assert result.interrupted and result.done == 0 and len(opened) == 1
    assert not [path for path in out_dir.rglob("*") if path.is_file()]
