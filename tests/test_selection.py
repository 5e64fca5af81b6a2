"""Ranked samples: each colorization's exact bits/dim, and the drawn, likely and diverse picks."""

import math

import numpy as np
import pytest
import torch

from colorize import Colorizer
from colorize.color import dequantize_ab
from colorize.colorizer import seeded_generator
from colorize.image_io import load_image
from colorize.fullres import lightness_of_tensor
from colorize.models.pixcolor import LOWRES_SIZE, PixColor
from colorize.sampling import sample
from colorize.selection import select_maps
from tests.test_cached_sampling import SETUPS, gated, make_cond

NUM_VALUES = 2 * LOWRES_SIZE * LOWRES_SIZE


@pytest.fixture(scope="module")
def colorizer():
    torch.manual_seed(0)
    model = PixColor.from_preset("tiny")
    with torch.no_grad():  # peaked distributions, so samples differ in likelihood
        for layer in model.decoder.layers:
            layer.cond_proj.map.weight.normal_(0, 0.5)
        for p in model.decoder.output.parameters():
            p.mul_(4)
    return Colorizer(model, torch.device("cpu"))


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    from PIL import Image

    rng = np.random.default_rng(1)
    path = tmp_path_factory.mktemp("photo") / "photo.png"
    Image.fromarray(rng.integers(0, 256, (30, 41, 3), dtype=np.uint8)).save(path)
    return path


@pytest.mark.parametrize("method", ["cached", "naive"])
@pytest.mark.parametrize("temperature", [1.0, 0.6])
def test_the_accumulated_log_prob_is_the_teacher_forced_likelihood(method, temperature):
    """At any drawing temperature, the score is the model's own (T = 1) log-likelihood."""
    model = gated(**SETUPS["conditional_vector_and_map"])
    cond = make_cond(model, 3, seed=2)
    log_prob = torch.zeros(3, dtype=torch.float64)
    classes = sample(model, 3, 4, 5, cond=cond, temperature=temperature, method=method,
                     generator=torch.Generator().manual_seed(1), log_prob=log_prob)
    with torch.no_grad():
        logits = model.logits(classes, cond)  # (B, K, C, H, W)
    expected = -torch.nn.functional.cross_entropy(logits, classes, reduction="none").sum((1, 2, 3))
    torch.testing.assert_close(log_prob, expected.double(), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("method", ["cached", "naive"])
def test_with_context_noise_the_score_is_the_likelihood_of_the_context_as_read(method):
    """Teacher forcing on the drawn values plus the same context noise gives the same score."""
    from colorize.sampling import draw_noise

    model = gated(**SETUPS["conditional_map"])
    cond = make_cond(model, 2, seed=2)
    log_prob = torch.zeros(2, dtype=torch.float64)
    classes = sample(model, 2, 4, 5, cond=cond, method=method, context_noise=0.3,
                     generator=torch.Generator().manual_seed(1), log_prob=log_prob)
    _, context = draw_noise(2, 4 * 5 * 2, 32, torch.Generator().manual_seed(1), context_noise=0.3)
    read = classes.float() * 2 / 31 - 1 + context.view(2, 4, 5, 2).permute(0, 3, 1, 2)
    with torch.no_grad():
        logits = model(read, cond)
    expected = -torch.nn.functional.cross_entropy(logits, classes, reduction="none").sum((1, 2, 3))
    torch.testing.assert_close(log_prob, expected.double(), rtol=1e-5, atol=1e-4)


def test_each_colorization_carries_the_bits_per_dim_of_its_bins(colorizer, photo):
    lightness = lightness_of_tensor(load_image(photo), torch.device("cpu"))
    _, bins, bits = colorizer._draw_chroma(lightness, 3, generator=seeded_generator(4))
    with torch.no_grad():
        cond = colorizer.model.conditioning(lightness).repeat_interleave(3, 0)
        nats = torch.nn.functional.cross_entropy(colorizer.model.decoder.logits(bins, cond), bins,
                                                 reduction="none").sum((1, 2, 3))
    torch.testing.assert_close(bits, (nats / NUM_VALUES / math.log(2)).double(), rtol=1e-5, atol=1e-5)
    scored = colorizer.colorize_scored(photo, num_samples=3, seed=4)
    assert [c.bits_per_dim for c in scored] == pytest.approx(bits.tolist())


def test_likely_keeps_exactly_the_best_of_the_drawn_images(colorizer, photo):
    drawn = colorizer.colorize_scored(photo, num_samples=8, seed=3)
    likely = colorizer.colorize_scored(photo, num_samples=3, seed=3, select="likely", draws=8)
    order = sorted(range(8), key=lambda n: drawn[n].bits_per_dim)[:3]
    assert [c.bits_per_dim for c in likely] == [drawn[n].bits_per_dim for n in order]
    assert likely[0].bits_per_dim < likely[-1].bits_per_dim  # the test means something
    for kept, n in zip(likely, order):
        assert np.array_equal(np.asarray(kept.image), np.asarray(drawn[n].image))


def test_diverse_starts_from_the_most_likely_and_then_goes_far():
    bins = torch.tensor([[0], [10], [11], [31], [30]]).view(5, 1, 1, 1).expand(5, 2, 2, 2)
    bits = torch.tensor([2.0, 1.0, 3.0, 4.0, 0.5])
    # The most likely (bin 30), then the farthest from it (0), then the farthest from both (11: 11 from 0, 19 from 30).
    assert select_maps(bins, bits, 3, "diverse") == [4, 0, 2]
    assert select_maps(bins, bits, 3, "likely") == [4, 1, 0]
    assert select_maps(bins, bits, 2, "drawn") == [0, 1]
    ab = dequantize_ab(bins).flatten(1)
    assert (ab[0] - ab[4]).abs().mean() > (ab[1] - ab[4]).abs().mean()


def test_colorize_takes_select_and_draws_and_bad_choices_are_clear_errors(colorizer, photo):
    scored = colorizer.colorize_scored(photo, num_samples=2, seed=5, select="diverse", draws=6)
    images = colorizer.colorize(photo, num_samples=2, seed=5, select="diverse", draws=6)
    assert all(np.array_equal(np.asarray(a.image), np.asarray(b)) for a, b in zip(scored, images))
    with pytest.raises(ValueError, match="select must be one of drawn, likely, diverse"):
        colorizer.colorize(photo, select="best")
    with pytest.raises(ValueError, match="draws must be an int >= num_samples"):
        colorizer.colorize(photo, num_samples=4, select="likely", draws=2)
    with pytest.raises(ValueError, match="draws must equal num_samples"):
        colorizer.colorize(photo, num_samples=2, draws=5)


def test_only_the_kept_maps_are_refined(colorizer, photo, monkeypatch):
    refined = []
    original = colorizer.model.refine

    def counting(l_work, bins, *args, **kwargs):
        refined.append(bins.shape[0])
        return original(l_work, bins, *args, **kwargs)

    monkeypatch.setattr(colorizer.model, "refine", counting)
    colorizer.colorize(photo, num_samples=2, seed=0, select="likely", draws=7)
    assert refined == [2]
