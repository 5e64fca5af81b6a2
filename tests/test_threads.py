"""The threads setting: restored after each block, the same images on any count, clear errors."""

import numpy as np
import pytest
import torch

from colorize import Colorizer
from colorize.threads import torch_threads
from benchmarks import end_to_end


def test_torch_threads_restores_the_setting_even_after_an_error():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError):
        with torch_threads(before + 1):
            assert torch.get_num_threads() == before + 1
            raise RuntimeError("inside")
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="threads"):
        with torch_threads(0):
            pass


def test_a_colorizers_threads_change_nothing_in_its_images(checkpoint):
    rgb = np.random.default_rng(0).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    before = torch.get_num_threads()
    one = Colorizer.from_pretrained(checkpoint, device="cpu", threads=1).colorize(rgb, num_samples=2, seed=3)
    two = Colorizer.from_pretrained(checkpoint, device="cpu", threads=2).colorize(rgb, num_samples=2, seed=3)
    assert torch.get_num_threads() == before
    for a, b in zip(one, two):
        assert np.abs(np.asarray(a).astype(int) - np.asarray(b)).max() <= 1  # a float's last bit at most
    with pytest.raises(ValueError, match="threads"):
        Colorizer.from_pretrained(checkpoint, device="cpu", threads=0)


def test_the_end_to_end_stage_table_times_every_stage(checkpoint):
    colorizer = Colorizer.from_pretrained(checkpoint, device="cpu")
    times = end_to_end.stage_times(colorizer, end_to_end.photo(64, 48), samples=2, repeats=1)
    assert len(times) == 5 and all(t > 0 for t in times.values())
