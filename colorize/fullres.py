"""The full-resolution end of colorization, one strip of the photo at a time.

Every full-resolution step is per pixel (L of an RGB pixel, Lab → RGB of a
pixel) or separable (bilinear upsampling of ab), so here they run on strips of
about ``STRIP_PIXELS`` pixels and write straight into the 8-bit output. The
only full-size buffers are L (4 bytes a pixel) and one output image: a
50-megapixel photo needs about 350 MB, where whole-image float tensors in
kornia's conversions would hold several 600 MB copies at once.

The join itself, Lab → sRGB → 8 bits, is one fused function of each strip
(:func:`merge_strip`): kornia's ``lab_to_rgb`` step for step, but channels
last, so the 8-bit pixels come out in the array's own layout, and with the
one L-only term that costs a power, the linear luminance Y, computed once per
photo (:func:`luminance_of`) for all its samples. Its floats may differ from
the whole-image conversion in their last bit, so an 8-bit value may differ
by one, as it does between runs with different numbers of CPU threads.

This is the layer below :class:`colorize.colorizer.Colorizer`, which calls it;
it knows nothing of the networks.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from colorize.color import rgb_from, rgb_to_gray
from colorize.image_io import array_to_rgb
from colorize.nn.resize import resize

# About a million pixels a strip: the float temporaries of one strip (a few
# 3-channel copies) stay in the tens of megabytes.
STRIP_PIXELS = 1 << 20
# The merge's bands are a quarter of that: its two dozen float temporaries of
# a band then take a few MB. Measured per sample of a 2048×1536 photo, bands
# of 2**16, 2**18 and 2**20 pixels take 0.121, 0.111 and 0.103 s (0.169 s before
# the merge was fused), so the smaller memory costs little.
MERGE_PIXELS = 1 << 18
# CIE XYZ (D65) → linear sRGB, and the D65 white, as kornia.color has them.
XYZ_TO_LINEAR_RGB = (
    (3.2404813432005266, -1.5371515162713185, -0.4985363261688878),
    (-0.9692549499965682, 1.8759900014898907, 0.0415559265582928),
    (0.0556466391351772, -0.2040413383665112, 1.0573110696453443),
)
D65_WHITE = (0.95047, 1.0, 1.08883)


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


def inverse_lab_f(t: torch.Tensor) -> torch.Tensor:
    """CIE Lab's f⁻¹: f(x/white) → x/white (cube above the knee, linear below), as kornia has it."""
    return torch.where(t > 0.2068966, t.pow(3.0), (t - 4.0 / 29.0) / 7.787)


def luminance_of(lightness: torch.Tensor) -> torch.Tensor:
    """L (1, 1, H, W) → the linear luminance Y (1, 1, H, W) it stands for: the merge's L-only term.

    One photo's samples all share it, so :func:`colorize_into` takes it
    computed once (4 bytes a pixel, like L).
    """
    return inverse_lab_f((lightness + 16.0) / 116.0)


def merge_strip(lightness: torch.Tensor, luminance: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """L and Y (H, w), ab (2, H, w) → uint8 sRGB (H, w, 3), channels last: Lab → XYZ → linear sRGB
    → sRGB, clipped and rounded, kornia's ``lab_to_rgb`` and :func:`colorize.image_io.tensor_to_uint8` fused."""
    fy = (lightness + 16.0) / 116.0
    x = inverse_lab_f(ab[0] / 500.0 + fy) * D65_WHITE[0]
    z = inverse_lab_f((fy - ab[1] / 200.0).clamp(min=0.0)) * D65_WHITE[2]
    xyz = torch.stack([x, luminance * D65_WHITE[1], z], dim=-1)  # (H, w, 3)
    linear = xyz @ xyz.new_tensor(XYZ_TO_LINEAR_RGB).t()
    srgb = torch.where(linear > 0.0031308, 1.055 * linear.clamp(min=0.0031308).pow(1 / 2.4) - 0.055,
                       12.92 * linear)
    return srgb.clamp_(0, 1).mul_(255).round_().to(torch.uint8)


def ab_rows(ab_work: torch.Tensor, height: int, width: int, rows: int) -> Iterator[tuple[int, torch.Tensor]]:
    """ab (1, 2, S, S) resized to (H, W), yielded as (top, (1, 2, h, W)) bands of ``rows`` rows."""
    size_h, size_w = ab_work.shape[-2:]
    if height < size_h or width < size_w:
        # Shrinking is antialiased: its filter spans many source pixels, so
        # resize at once. The photo is then under S pixels in one direction,
        # so the whole ab map is at most 2·S·(other side) floats.
        full = resize(ab_work, height, width)
        for top in range(0, height, rows):
            yield top, full[..., top:top + rows, :]
        return
    # Bilinear upscaling is separable, and an S → S pass is the identity
    # (weights 1 and 0): the height is resized once, then the width of each
    # band of rows, which is the same whatever the bands. Against
    # F.interpolate's one 2-D pass a float may differ in its last bit (the
    # two lerps come in the other order).
    columns = resize(ab_work, height, size_w)  # (1, 2, H, S): small
    for top in range(0, height, rows):
        band = columns[..., top:top + rows, :]
        yield top, resize(band, band.shape[-2], width)


def full_resolution(lightness: torch.Tensor, ab_work: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """L (1, 1, H, W) and ab (M, 2, S, S) → (sRGB (M, 3, H, W), ab (M, 2, H, W)), whole images.

    The chroma is stretched back to the photo's own size and aspect and
    joined with its own, untouched L. :func:`colorize_into` does the same by strips.
    """
    ab = resize(ab_work, *lightness.shape[-2:])
    return rgb_from(lightness, ab), ab


@torch.no_grad()
def colorize_into(out: np.ndarray, lightness: torch.Tensor, ab_work: torch.Tensor,
                  strip_pixels: int = MERGE_PIXELS, luminance: torch.Tensor | None = None) -> np.ndarray:
    """Join L (1, 1, H, W) with ab (1, 2, S, S) into sRGB and write it into ``out[..., :3]``.

    ``out`` is uint8 (H, W, 3), or (H, W, 4) whose alpha plane is left as it is.
    ``luminance``: :func:`luminance_of` the same L, to reuse it across one
    photo's samples; None computes it. Returns ``out``.
    """
    height, width = lightness.shape[-2:]
    if out.shape[:2] != (height, width) or out.dtype != np.uint8:
        raise ValueError(f"out must be uint8 ({height}, {width}, 3 or 4), got {out.dtype} {out.shape}")
    if luminance is None:
        luminance = luminance_of(lightness)
    # Bands of whole rows: each is contiguous in L, Y and ``out``.
    rows = max(1, strip_pixels // width)
    for top, ab in ab_rows(ab_work.float(), height, width, rows):
        bottom = top + ab.shape[-2]
        pixels = merge_strip(lightness[0, 0, top:bottom], luminance[0, 0, top:bottom], ab[0])
        out[top:bottom, :, :3] = pixels.cpu().numpy()
    return out
