"""What users get from the shipped weights, pinned: a change to it must be a visible, deliberate diff.

The shipped model colorizes scikit-image's ``chelsea`` and ``camera`` with a
fixed seed, at the defaults, and a few pixels of every sample, its mean
chroma and its bits/dim must equal the values below. A change of resizing,
rounding, seeding, sampling or weights fails here even when every property
test still passes. The tolerances absorb float rounding across thread
counts and CPUs (a pixel level or two, bits/dim to 1e-3); a sample drawn
differently misses by tens of levels.

After a deliberate change, print the new values with
``python tests/test_shipped_outputs.py`` and paste them below, saying why in
the commit.
"""

import sys

import numpy as np
import pytest
import torch
from skimage import data

from colorize import Colorizer

SEED = 0
NUM_SAMPLES = 2
# (row, column) of the pixels pinned, as fractions of the photo's height and width.
POINTS = ((0.1, 0.1), (0.3, 0.7), (0.5, 0.5), (0.7, 0.3), (0.9, 0.9))
PIXEL_TOLERANCE = 2  # 8-bit levels
MEAN_TOLERANCE = 0.5  # 8-bit levels, the sample's mean of each channel
BITS_TOLERANCE = 1e-3

PINNED = {
    'camera': [
        {'pixels': [[213, 206, 194], [217, 214, 208], [17, 13, 11], [27, 23, 23], [137, 145, 80]], 'mean': [136.14, 128.29, 108.43], 'bits_per_dim': 0.9618},
        {'pixels': [[198, 208, 222], [208, 215, 224], [16, 14, 13], [27, 23, 22], [152, 139, 115]], 'mean': [131.95, 128.23, 125.53], 'bits_per_dim': 0.7535},
    ],
    'chelsea': [
        {'pixels': [[97, 67, 43], [116, 90, 72], [177, 154, 136], [149, 138, 133], [175, 156, 118]], 'mean': [134.7, 115.84, 99.53], 'bits_per_dim': 1.2594},
        {'pixels': [[0, 74, 145], [94, 95, 101], [162, 156, 171], [117, 141, 181], [168, 158, 130]], 'mean': [113.64, 118.63, 131.83], 'bits_per_dim': 1.3727},
    ],
}


def photos() -> dict[str, np.ndarray]:
    return {"chelsea": data.chelsea(), "camera": data.camera()}


def pinned_values(colorizer: Colorizer, photo: np.ndarray) -> list[dict]:
    """Each sample's pinned pixels (uint8 RGB at POINTS), mean RGB and bits/dim."""
    samples = colorizer.colorize_scored(photo, num_samples=NUM_SAMPLES, seed=SEED)
    values = []
    for sample in samples:
        pixels = np.asarray(sample.image)
        height, width = pixels.shape[:2]
        points = [pixels[int(r * height), int(c * width)].tolist() for r, c in POINTS]
        values.append({"pixels": points, "mean": np.round(pixels.reshape(-1, 3).mean(0), 2).tolist(),
                       "bits_per_dim": round(sample.bits_per_dim, 4)})
    return values


@pytest.fixture(scope="module")
def colorizer():
    return Colorizer.from_pretrained(device="cpu")


@pytest.mark.parametrize("name", sorted(photos()))
def test_the_shipped_model_gives_the_pinned_outputs(colorizer, name):
    got = pinned_values(colorizer, photos()[name])
    want = PINNED[name]
    assert len(got) == len(want)
    for n, (sample, pinned) in enumerate(zip(got, want)):
        assert sample["bits_per_dim"] == pytest.approx(pinned["bits_per_dim"], abs=BITS_TOLERANCE), (name, n)
        np.testing.assert_allclose(sample["mean"], pinned["mean"], atol=MEAN_TOLERANCE, err_msg=f"{name} {n}")
        np.testing.assert_allclose(sample["pixels"], pinned["pixels"], atol=PIXEL_TOLERANCE, err_msg=f"{name} {n}")


def test_the_pins_hold_at_another_thread_count(colorizer):
    """The tolerances are wide enough for torch's other thread count, and no wider than needed."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1 if previous > 1 else 2)
    try:
        got = pinned_values(Colorizer.from_pretrained(device="cpu"), photos()["chelsea"])
    finally:
        torch.set_num_threads(previous)
    for sample, pinned in zip(got, PINNED["chelsea"]):
        np.testing.assert_allclose(sample["pixels"], pinned["pixels"], atol=PIXEL_TOLERANCE)


if __name__ == "__main__":
    model = Colorizer.from_pretrained(device="cpu")
    sys.stdout.write("PINNED = {\n")
    for key, photo in sorted(photos().items()):
        sys.stdout.write(f"    {key!r}: [\n")
        for value in pinned_values(model, photo):
            sys.stdout.write(f"        {value!r},\n")
        sys.stdout.write("    ],\n")
    sys.stdout.write("}\n")
