"""The Colorizer API end to end, on a tiny seeded model: sizes, lightness, seeds, inputs, checkpoints.

The module draws its reference colorization once and compares every other
call with it.
"""

import numpy as np
import pytest
import torch
from PIL import Image

from colorize import Colorizer
from colorize.checkpoint import save_model
from colorize.color import lab_to_rgb, rgb_to_lab
from colorize.fullres import full_resolution
from colorize.image_io import load_image
from colorize.models import build_model
from colorize.models.gated_pixelcnn_cache import CachedGatedSampler

NUM_SAMPLES = 2
HEIGHT, WIDTH = 37, 53  # odd and not square: the output must keep both


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image).astype(np.int16)


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Image.Image:
    """A colour photo-like image, saved as a PNG (the path form of the input)."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH] / WIDTH
    rgb = np.stack([np.sin(4 * xx + 1), np.cos(3 * yy), np.sin(5 * (xx + yy))], -1)
    rgb = ((rgb + 1) * 127.5 + rng.normal(0, 5, rgb.shape)).clip(0, 255).astype(np.uint8)
    path = tmp_path_factory.mktemp("photos") / "photo.png"
    Image.fromarray(rgb).save(path)
    return path


@pytest.fixture(scope="module")
def colorizer(checkpoint):
    return Colorizer.from_pretrained(checkpoint, device="cpu")


@pytest.fixture(scope="module")
def reference(colorizer, photo):
    """colorize(photo, N=2, seed=0), recording the batch size of every sampler call."""
    batch_sizes = []
    original = CachedGatedSampler.sample

    def recording_sample(self, noise, *args, **kwargs):
        batch_sizes.append(noise.shape[0])
        return original(self, noise, *args, **kwargs)

    CachedGatedSampler.sample = recording_sample
    try:
        images = colorizer.colorize(photo, num_samples=NUM_SAMPLES, seed=0)
    finally:
        CachedGatedSampler.sample = original
    return images, batch_sizes


def test_returns_n_rgb_images_of_the_input_size(reference):
    images, _ = reference
    assert len(images) == NUM_SAMPLES
    for image in images:
        assert isinstance(image, Image.Image) and image.mode == "RGB"
        assert image.size == (WIDTH, HEIGHT)
    # Each is its own copy of the one buffer the samples are joined in.
    assert not np.array_equal(pixels(images[0]), pixels(images[1]))


def test_the_samples_are_drawn_as_one_batch(reference):
    _, batch_sizes = reference
    assert batch_sizes == [NUM_SAMPLES]  # one cached sampling run over the N samples


def test_output_keeps_the_input_lightness(colorizer, photo):
    """Where the colour is in the sRGB gamut, the output's L is the input's, up to 8-bit rounding."""
    lightness = rgb_to_lab(load_image(photo))[:1][None]  # (1, 1, H, W)
    ab_work, _, _ = colorizer._draw_chroma(lightness, NUM_SAMPLES, generator=torch.Generator().manual_seed(0))
    rgb, ab = full_resolution(lightness, ab_work)
    unclipped = lab_to_rgb(torch.cat([lightness.expand(NUM_SAMPLES, -1, -1, -1), ab], dim=1), clip=False)
    in_gamut = ((unclipped >= 0) & (unclipped <= 1)).all(dim=1)  # (N, H, W)
    assert in_gamut.float().mean() > 0.2  # enough pixels for the check to mean something
    out_l = rgb_to_lab((rgb * 255).round() / 255)[:, 0]
    diff = (out_l - lightness[0, 0])[in_gamut].abs()
    assert diff.max() < 1.0  # 8-bit rounding moves L by well under one unit
    # Clipping changes L only where it had to, and little on average.
    assert (out_l - lightness[0, 0]).abs().mean() < 3.0


def test_the_same_seed_gives_the_same_images(colorizer, photo, reference):
    again = colorizer.colorize(photo, num_samples=NUM_SAMPLES, seed=0)
    for a, b in zip(reference[0], again):
        assert np.array_equal(pixels(a), pixels(b))


def test_more_samples_keep_the_first_ones(colorizer, photo, reference):
    """Each sample draws its own noise, so asking for more adds images and changes none."""
    more = colorizer.colorize(photo, num_samples=NUM_SAMPLES + 1, seed=0)
    for a, b in zip(reference[0], more):
        assert np.array_equal(pixels(a), pixels(b))


def test_another_seed_gives_other_images(colorizer, photo, reference):
    other = colorizer.colorize(photo, num_samples=NUM_SAMPLES, seed=1)
    for a, b in zip(reference[0], other):
        assert np.abs(pixels(a) - pixels(b)).mean() > 1.0
    # The N samples of one call differ from each other too.
    first, second = reference[0]
    assert np.abs(pixels(first) - pixels(second)).mean() > 1.0


def test_colour_input_is_colorized_as_its_gray(colorizer, photo, reference):
    # The gray image with exactly the photo's lightness, as float RGB in [0, 1].
    lightness = rgb_to_lab(load_image(photo))[:1]
    gray = lab_to_rgb(torch.cat([lightness, torch.zeros(2, HEIGHT, WIDTH)]))
    gray_array = gray.permute(1, 2, 0).numpy().astype(np.float64)
    from_gray = colorizer.colorize(gray_array, num_samples=NUM_SAMPLES, seed=0)
    for a, b in zip(reference[0], from_gray):
        assert np.abs(pixels(a) - pixels(b)).max() <= 1  # equal up to 8-bit rounding


def test_checkpoint_round_trip_gives_identical_outputs(colorizer, photo, reference, tmp_path):
    save_model(tmp_path, colorizer.model)
    reloaded = Colorizer.from_pretrained(tmp_path, device="cpu")
    for a, b in zip(reference[0], reloaded.colorize(photo, num_samples=NUM_SAMPLES, seed=0)):
        assert np.array_equal(pixels(a), pixels(b))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(num_samples=0), "num_samples"),
        (dict(num_samples=2.0), "num_samples"),
        (dict(temperature=0.0), "temperature"),
        (dict(seed="7"), "seed"),
    ],
)
def test_bad_arguments_are_clear_errors(colorizer, photo, kwargs, match):
    with pytest.raises(ValueError, match=match):
        colorizer.colorize(photo, **kwargs)


def test_bad_images_are_clear_errors(colorizer, tmp_path):
    with pytest.raises(FileNotFoundError, match="no such image"):
        colorizer.colorize(tmp_path / "missing.jpg")
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match="broken.jpg: not an image file"):
        colorizer.colorize(broken)
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        colorizer.colorize(np.zeros((4, 5, 6), dtype=np.uint8))
    with pytest.raises(TypeError, match="path, a PIL image or a numpy array"):
        colorizer.colorize(torch.zeros(3, 8, 8))


def test_from_pretrained_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        Colorizer.from_pretrained(tmp_path)
    save_model(tmp_path, build_model("gated_pixelcnn", preset="tiny", num_channels=2, num_classes=32))
    with pytest.raises(ValueError, match="not a pixcolor"):
        Colorizer.from_pretrained(tmp_path)
