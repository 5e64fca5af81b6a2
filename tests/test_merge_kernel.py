"""The compiled full-resolution join: the tensor strips' bytes, by bands of rows, at any size."""

import numpy as np
import pytest
import torch

from colorize import merge_kernel
from colorize.fullres import colorize_into
from colorize.merge_kernel import merge_into, vertical_taps
from colorize.nn.resize import resize


def lightness_map(height: int, width: int, seed: int = 0) -> torch.Tensor:
    """L (1, 1, H, W): a gradient with noise, black and white included."""
    generator = torch.Generator().manual_seed(seed)
    ramp = torch.linspace(0, 100, width).expand(height, width)
    noisy = (ramp + torch.randn(height, width, generator=generator) * 10).clamp(0, 100)
    return noisy[None, None].contiguous()


def chroma_map(seed: int = 0, size: int = 24) -> torch.Tensor:
    """ab (1, 2, S, S), wide enough to leave the sRGB gamut on both sides."""
    return torch.randn(1, 2, size, size, generator=torch.Generator().manual_seed(seed)) * 40


@pytest.mark.parametrize("height, width", [
    (61, 83),  # larger both ways: the two-pass bilinear path
    (17, 50),  # shorter than the map: the whole-map antialiased path
    (40, 9),   # narrower than the map
    (24, 24),  # the map's own size: no resizing
])
def test_the_kernel_gives_the_tensor_strips_bytes(height, width):
    lightness, ab_work = lightness_map(height, width), chroma_map()
    expected = colorize_into(np.empty((height, width, 3), np.uint8), lightness, ab_work)
    got = merge_into(np.empty((height, width, 3), np.uint8), lightness[0, 0].numpy(), ab_work[0])
    difference = np.abs(got.astype(int) - expected)
    # Only where a float lands within its last bit of an 8-bit threshold.
    assert difference.max() <= 1 and (difference > 0).mean() < 1e-3


def test_bands_of_rows_on_several_threads_give_the_same_bytes(monkeypatch):
    lightness, ab_work = lightness_map(97, 40, seed=1), chroma_map(1)
    alone = merge_into(np.empty((97, 40, 3), np.uint8), lightness[0, 0].numpy(), ab_work[0], threads=1)
    monkeypatch.setattr(merge_kernel, "PARALLEL_PIXELS", 100)  # 97 rows of 40: many bands
    banded = merge_into(np.empty((97, 40, 3), np.uint8), lightness[0, 0].numpy(), ab_work[0], threads=3)
    assert np.array_equal(alone, banded)


def test_the_alpha_plane_is_left_as_it_is():
    lightness, ab_work = lightness_map(30, 31), chroma_map()
    out = np.zeros((30, 31, 4), np.uint8)
    out[..., 3] = 77
    merge_into(out, lightness[0, 0].numpy(), ab_work[0])
    plain = merge_into(np.empty((30, 31, 3), np.uint8), lightness[0, 0].numpy(), ab_work[0])
    assert np.array_equal(out[..., :3], plain) and (out[..., 3] == 77).all()


def test_the_vertical_taps_are_bilinear_upsampling():
    rows = torch.randn(1, 2, 24, 7, generator=torch.Generator().manual_seed(2))
    top, weight = vertical_taps(100, 24)
    lower = np.minimum(top + 1, 23)
    taps = rows[0, :, top] * (1 - torch.from_numpy(weight))[:, None] + rows[0, :, lower] * torch.from_numpy(
        weight)[:, None]
    assert torch.allclose(taps, resize(rows, 100, 7)[0], atol=1e-5)
    assert top.dtype == np.int32 and top.min() == 0 and top.max() == 23


def test_non_finite_chroma_stays_inside_the_tables():
    """A NaN pixel comes out black instead of indexing outside the threshold table."""
    lightness, ab_work = lightness_map(30, 30), chroma_map()
    ab_work[0, 0, 5:10, 5:10] = float("nan")
    ab_work[0, 1, 12:20, 12:20] = float("inf")
    out = merge_into(np.full((30, 30, 3), 9, np.uint8), lightness[0, 0].numpy(), ab_work[0])
    nan = resize(ab_work, 30, 30)[0, 0].isnan().numpy()
    assert nan.any() and (out[nan] == 0).all()


def test_bad_buffers_are_refused():
    lightness, ab_work = lightness_map(10, 12)[0, 0].numpy(), chroma_map()[0]
    with pytest.raises(ValueError, match="uint8"):
        merge_into(np.empty((10, 12, 3), np.float32), lightness, ab_work)
    with pytest.raises(ValueError, match="uint8"):
        merge_into(np.empty((12, 10, 3), np.uint8), lightness, ab_work)
    with pytest.raises(ValueError, match="contiguous"):
        merge_into(np.empty((10, 24, 3), np.uint8)[:, ::2], lightness, ab_work)
    with pytest.raises(ValueError, match="ab_work"):
        merge_into(np.empty((10, 12, 3), np.uint8), lightness, ab_work[None])


def test_with_nowhere_to_cache_the_loop_is_compiled_each_run(monkeypatch):
    """A read-only install with a read-only home: numba finds no cache folder; the loop still compiles."""
    real_njit = merge_kernel.numba.njit

    def njit(cache=False, **options):
        if cache:  # what numba raises when none of its cache locations is writable
            raise RuntimeError("cannot cache function 'f': no locator available for file 'f.py'")
        return real_njit(**options)

    monkeypatch.setattr(merge_kernel.numba, "njit", njit)
    assert merge_kernel.compiled(lambda x: x + 1)(1) == 2


def test_without_numba_the_colorizer_gives_the_same_pixels(checkpoint, monkeypatch):
    """numba is the optional [fast] extra: without it the CPU joins by the tensor strips, the same
    pixels up to a float's last bit (a level, in a few pixels in a million)."""
    import colorize.colorizer
    from colorize import Colorizer

    rgb = np.random.default_rng(2).integers(0, 256, (61, 83, 3), dtype=np.uint8)
    colorizer = Colorizer.from_pretrained(checkpoint, device="cpu")
    compiled = [np.asarray(image) for image in colorizer.colorize(rgb, num_samples=2, seed=4)]
    monkeypatch.setattr(colorize.colorizer, "merge_into", None)
    tensor = [np.asarray(image) for image in colorizer.colorize(rgb, num_samples=2, seed=4)]
    for a, b in zip(compiled, tensor):
        difference = np.abs(a.astype(int) - b)
        assert difference.max() <= 1 and (difference > 0).mean() < 1e-3


def test_the_library_imports_without_numba():
    import subprocess
    import sys

    code = ("import sys; sys.modules['numba'] = None\n"  # as if it were not installed
            "import colorize.colorizer as c; assert c.merge_into is None; print('ok')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
