"""Shared fixtures: small generated image folders, so no test needs the real corpus.

The tests run with one torch thread, their subprocesses too: the models are
tiny, and on a 2-core machine a second thread mostly waits on the first
(the suite took 14 minutes with the default threads, 3.5 with one).
"""

import os

os.environ["OMP_NUM_THREADS"] = "1"  # before torch is imported, and inherited by subprocesses

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from colorize.checkpoint import save_model  # noqa: E402
from colorize.models.pixcolor import PixColor  # noqa: E402

torch.set_num_threads(1)


def write_images(folder, count: int, seed: int) -> None:
    """Smooth random colour images (so crops have structure), a few sizes."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for n in range(count):
        h, w = rng.integers(40, 90, size=2)
        yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
        channels = [np.sin(rng.uniform(1, 6) * xx + rng.uniform(0, 3)) * np.cos(rng.uniform(1, 6) * yy)
                    for _ in range(3)]
        rgb = ((np.stack(channels, -1) + 1) * 127.5).astype(np.uint8)
        Image.fromarray(rgb).save(folder / f"img_{n}.png")


def write_corpus(root):
    """A tiny corpus in the layout that data/build_corpus.py writes."""
    for split, count, seed in [("train", 6, 0), ("val", 2, 1), ("test", 2, 2)]:
        write_images(root / split, count, seed)
    return root


@pytest.fixture
def corpus(tmp_path):
    return write_corpus(tmp_path / "corpus")


@pytest.fixture(scope="module")
def module_corpus(tmp_path_factory):
    """The same tiny corpus, shared by a module's tests."""
    return write_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """An untrained tiny colorizer, seeded, saved as a checkpoint folder (one per test module)."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny_colorizer")
    save_model(path, PixColor.from_preset("tiny"))
    return path
