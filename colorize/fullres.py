"""The full-resolution end of colorization, one strip of the photo at a time.

Every full-resolution step is per pixel (L of an RGB pixel, Lab → RGB of a
pixel) or separable (bilinear upsampling of ab), so here they run on strips of
about ``STRIP_PIXELS`` pixels and write straight into the 8-bit output. The
only full-size buffers are L (4 bytes a pixel) and one output image: a
50-megapixel photo needs about 350 MB, where whole-image float tensors in
kornia's conversions would hold several 600 MB copies at once.

This is the layer below :class:`colorize.colorizer.Colorizer`, which calls it;
it knows nothing of the networks. For a photo that fits in one strip the
numbers are those of the whole-image conversion; for a larger one a float may
differ in its last bit, as it does between runs with different numbers of CPU
threads.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from colorize.color import rgb_from, rgb_to_gray
from colorize.image_io import array_to_rgb, tensor_to_uint8
from colorize.nn.resize import resize

# About a million pixels a strip: the float temporaries of one strip (kornia's
# Lab → RGB holds a few 3-channel copies) stay in the tens of megabytes.
STRIP_PIXELS = 1 << 20


def lightness_of(rgb: np.ndarray, device: torch.device, strip_pixels: int = STRIP_PIXELS) -> torch.Tensor:
    """uint8 sRGB (H, W, 3) → L (1, 1, H, W) in [0, 100] on ``device``, a band of rows at a time."""
    height, width = rgb.shape[:2]
    lightness = torch.empty(1, 1, height, width, device=device)
    rows = max(1, strip_pixels // width)
    for top in range(0, height, rows):
        # On the CPU, as lightness_of_tensor(load_image(...)) in Colorizer.colorize, so the numbers agree.
        lightness[0, :, top:top + rows] = rgb_to_gray(array_to_rgb(rgb[top:top + rows]))
    return lightness


def lightness_of_tensor(rgb: torch.Tensor, device: torch.device,
                        strip_pixels: int = STRIP_PIXELS) -> torch.Tensor:
    """float sRGB (3, H, W) → L (1, 1, H, W) in [0, 100] on ``device``, a band of rows at a time.

    The same numbers as ``rgb_to_gray`` on the whole image (it is per pixel),
    without its whole-image float temporaries.
    """
    height, width = rgb.shape[-2:]
    lightness = torch.empty(1, 1, height, width, device=device)
    rows = max(1, strip_pixels // width)
    for top in range(0, height, rows):
        lightness[0, :, top:top + rows] = rgb_to_gray(rgb[:, top:top + rows])
    return lightness


def ab_columns(ab_work: torch.Tensor, height: int, width: int,
               columns: int) -> Iterator[tuple[int, torch.Tensor]]:
    """ab (1, 2, S, S) resized as :func:`resize` to (H, W), yielded as (left, (1, 2, H, w)) bands."""
    size_h, size_w = ab_work.shape[-2:]
    if height < size_h or width < size_w:
        # Shrinking is antialiased: its filter spans many source columns, so
        # resize at once. The photo is then under S pixels in one direction,
        # so the whole ab map is at most 2·S·(other side) floats.
        full = resize(ab_work, height, width)
        for left in range(0, width, columns):
            yield left, full[..., left:left + columns]
        return
    # Bilinear upscaling is separable, and an S → S pass is the identity
    # (weights 1 and 0), so resizing the width once and then the height of
    # each band of columns gives F.interpolate's whole-image result bit for bit.
    rows = resize(ab_work, size_h, width)  # (1, 2, S, W): small
    for left in range(0, width, columns):
        band = rows[..., left:left + columns]
        yield left, resize(band, height, band.shape[-1])


def full_resolution(lightness: torch.Tensor, ab_work: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """L (1, 1, H, W) and ab (M, 2, S, S) → (sRGB (M, 3, H, W), ab (M, 2, H, W)), whole images.

    The chroma is stretched back to the photo's own size and aspect and
    joined with its own, untouched L. :func:`colorize_into` does the same by strips.
    """
    ab = resize(ab_work, *lightness.shape[-2:])
    return rgb_from(lightness, ab), ab


@torch.no_grad()
def colorize_into(out: np.ndarray, lightness: torch.Tensor, ab_work: torch.Tensor,
                  strip_pixels: int = STRIP_PIXELS) -> np.ndarray:
    """Join L (1, 1, H, W) with ab (1, 2, S, S) into sRGB and write it into ``out[..., :3]``.

    ``out`` is uint8 (H, W, 3), or (H, W, 4) whose alpha plane is left as it is.
    Returns ``out``.
    """
    height, width = lightness.shape[-2:]
    if out.shape[:2] != (height, width) or out.dtype != np.uint8:
        raise ValueError(f"out must be uint8 ({height}, {width}, 3 or 4), got {out.dtype} {out.shape}")
    columns = max(1, strip_pixels // height)
    for left, ab in ab_columns(ab_work, height, width, columns):
        right = left + ab.shape[-1]
        rgb, _ = full_resolution(lightness[..., left:right], ab)
        out[:, left:right, :3] = tensor_to_uint8(rgb[0])
    return out
