"""The full-resolution end of colorization, one strip of the photo at a time.

Every full-resolution step is per pixel (L of an RGB pixel, Lab → RGB of a
pixel) or separable (bilinear upsampling of ab), so here they run on strips of
about ``STRIP_PIXELS`` pixels and write straight into the 8-bit output. The
only full-size buffers are L (4 bytes a pixel) and one output image: a
50-megapixel photo needs about 350 MB, where whole-image float tensors in
kornia's conversions would hold several 600 MB copies at once.

The join itself, Lab → sRGB → 8 bits, is one fused function of each strip
(:func:`merge_strip`): kornia's ``lab_to_rgb`` step for step, one channel
plane at a time written into its place in the 8-bit output, with the one
L-only term that costs a power, the linear luminance Y, computed once per
photo (:func:`luminance_of`) for all its samples, and the sRGB encoding's
power replaced by a table of the 255 thresholds between 8-bit levels
(:func:`srgb_levels`). An 8-bit value may differ by one from the whole-image
conversion, where the float formula lands within its last bit of a
threshold (a few pixels in a million), as it does between runs with
different numbers of CPU threads.

L itself comes from the 8-bit photo by tables too (:func:`lightness_of`):
its linearisation has only 256 values a channel.

This is the layer below :class:`colorize.colorizer.Colorizer`, which calls it;
it knows nothing of the networks.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import numpy as np
import torch

from colorize.color import (D65_WHITE, LAB_A_SCALE, LAB_B_SCALE, LAB_EPSILON, LAB_F_KNEE, LAB_L_OFFSET, LAB_L_SCALE,
                            LAB_LINEAR_OFFSET, LAB_LINEAR_SLOPE, RGB_TO_LUMINANCE, SRGB_DECODE_KNEE, SRGB_ENCODE_KNEE,
                            SRGB_GAMMA, SRGB_LINEAR_SLOPE, SRGB_OFFSET, SRGB_SCALE, XYZ_TO_LINEAR_RGB, rgb_from,
                            rgb_to_gray)
from colorize.nn.resize import resize

# About a million pixels a strip: the float temporaries of one strip (a few
# 3-channel copies) stay in the tens of megabytes.
STRIP_PIXELS = 1 << 20
# The merge's bands are a quarter of that: its two dozen float temporaries of
# a band then take a few MB. Measured per sample of a 2048×1536 photo, bands
# of 2**16, 2**18 and 2**20 pixels take 0.121, 0.111 and 0.103 s (0.169 s before
# the merge was fused), so the smaller memory costs little.
MERGE_PIXELS = 1 << 18


@functools.cache
def luminance_of_levels() -> torch.Tensor:
    """Each 8-bit level's share of the linear luminance Y, per channel (3, 256), float32.

    Row c, column v: the weight of channel c in Y (kornia's sRGB → XYZ row)
    times v / 255 made linear by kornia's formula, so Y of a pixel is the sum
    of three lookups.
    """
    levels = torch.arange(256, dtype=torch.float32) / 255
    linear = torch.where(levels > SRGB_DECODE_KNEE, ((levels + SRGB_OFFSET) / SRGB_SCALE).pow(SRGB_GAMMA),
                         levels / SRGB_LINEAR_SLOPE)
    return torch.tensor(RGB_TO_LUMINANCE)[:, None] * linear


def lightness_of_levels(rgb: torch.Tensor) -> torch.Tensor:
    """uint8 sRGB (h, w, 3) → L (h, w) in [0, 100], on the CPU.

    The same L as ``rgb_to_gray`` (kornia's ``rgb_to_lab``), bit for bit
    (tested), at a fraction of the cost: an 8-bit photo has 256 levels a
    channel, so its linearisation, three powers a pixel, is a table, and of
    Lab only L, one cube root a pixel, is computed.
    """
    shares = luminance_of_levels()
    flat = rgb.reshape(-1, 3).to(torch.int32)
    luminance = shares[0].index_select(0, flat[:, 0])
    luminance.add_(shares[1].index_select(0, flat[:, 1])).add_(shares[2].index_select(0, flat[:, 2]))
    f = torch.where(luminance > LAB_EPSILON, luminance.clamp(min=LAB_EPSILON).pow(1 / 3.0),
                    LAB_LINEAR_SLOPE * luminance + LAB_LINEAR_OFFSET)
    return f.mul_(LAB_L_SCALE).sub_(LAB_L_OFFSET).view(rgb.shape[:2])


def lightness_of(rgb: np.ndarray, device: torch.device, strip_pixels: int = STRIP_PIXELS) -> torch.Tensor:
    """uint8 sRGB (H, W, 3) → L (1, 1, H, W) in [0, 100] on ``device``, a band of rows at a time,
    by :func:`lightness_of_levels`."""
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be uint8 (H, W, 3), got {rgb.dtype} {rgb.shape}")
    height, width = rgb.shape[:2]
    lightness = torch.empty(1, 1, height, width, device=device)
    rows = max(1, strip_pixels // width)
    for top in range(0, height, rows):
        band = np.require(rgb[top:top + rows], requirements=["C", "W"])  # as torch.from_numpy takes it
        lightness[0, 0, top:top + rows] = lightness_of_levels(torch.from_numpy(band))
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
    return torch.where(t > LAB_F_KNEE, t.pow(3.0), (t - LAB_LINEAR_OFFSET) / LAB_LINEAR_SLOPE)


def luminance_of(lightness: torch.Tensor) -> torch.Tensor:
    """L (1, 1, H, W) → the linear luminance Y (1, 1, H, W) it stands for: the merge's L-only term.

    One photo's samples all share it, so :func:`colorize_into` takes it
    computed once (4 bytes a pixel, like L).
    """
    return inverse_lab_f((lightness + LAB_L_OFFSET) / LAB_L_SCALE)


# The 8-bit sRGB encoding as a table of thresholds (:func:`srgb_level_table`):
# linear [0, 1] in SRGB_BUCKETS equal buckets. The encoding's steepest slope,
# 12.92 · 255 levels per unit at black, is below SRGB_BUCKETS, so a bucket
# holds at most one level's threshold (tested).
SRGB_BUCKETS = 4096


@functools.cache
def srgb_level_table(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """The thresholds of 8-bit sRGB in linear light: per bucket of :data:`SRGB_BUCKETS`, and
    one more for 1 itself, (the level at its start, uint8; the linear value where the next
    level begins, float32, infinity for none), on ``device``.

    Level k begins where the encoding reaches (k − ½) / 255, so the level of
    a linear value v is round(255 · sRGB(v)), as the formula gives it, up to
    the float rounding of the formula itself right at a threshold.
    """
    encoded = (np.arange(1, 256, dtype=np.float64) - 0.5) / 255
    starts = np.where(encoded > SRGB_LINEAR_SLOPE * SRGB_ENCODE_KNEE,
                      ((encoded + SRGB_OFFSET) / SRGB_SCALE) ** SRGB_GAMMA, encoded / SRGB_LINEAR_SLOPE)
    edges = np.arange(SRGB_BUCKETS + 1, dtype=np.float64) / SRGB_BUCKETS
    base = np.searchsorted(starts, edges, side="right")  # levels begun by each bucket's start
    following = np.append(starts, np.inf)[base]
    return (torch.from_numpy(base.astype(np.uint8)).to(device),
            torch.from_numpy(following.astype(np.float32)).to(device))


def srgb_levels(linear: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """Linear sRGB (any shape) → its 8-bit levels round(255 · sRGB(clip(v, 0, 1))), uint8.

    Two lookups and a comparison a value instead of a power: the encoding's
    power was most of the merge's time. ``out``: a uint8 tensor of the same
    shape (a strided view too) to write into.
    """
    base, following = srgb_level_table(linear.device)
    clipped = linear.clamp(0.0, 1.0)
    bucket = (clipped * SRGB_BUCKETS).to(torch.int32).reshape(-1)  # 0 … SRGB_BUCKETS
    levels = base.index_select(0, bucket).view(linear.shape)
    levels.add_(clipped >= following.index_select(0, bucket).view(linear.shape))
    if out is None:
        return levels
    return out.copy_(levels)


def merge_strip(lightness: torch.Tensor, luminance: torch.Tensor, ab: torch.Tensor,
                out: torch.Tensor | None = None) -> torch.Tensor:
    """L and Y (H, w), ab (2, H, w) → uint8 sRGB (H, w, 3), channels last: Lab → XYZ → linear sRGB
    → 8-bit sRGB, kornia's ``lab_to_rgb`` and :func:`colorize.image_io.tensor_to_uint8` fused.

    One channel plane at a time, each written into its place in the
    channels-last pixels: ``out``, uint8 (H, w, C ≥ 3) on L's device (a view
    of the output image), or a new (H, w, 3).
    """
    fy = (lightness + LAB_L_OFFSET) / LAB_L_SCALE
    x = inverse_lab_f(ab[0] / LAB_A_SCALE + fy).mul_(D65_WHITE[0])
    z = inverse_lab_f((fy - ab[1] / LAB_B_SCALE).clamp_(min=0.0)).mul_(D65_WHITE[2])
    y = luminance * D65_WHITE[1]
    if out is None:
        out = torch.empty(*lightness.shape, 3, dtype=torch.uint8, device=lightness.device)
    for channel, (from_x, from_y, from_z) in enumerate(XYZ_TO_LINEAR_RGB):
        linear = torch.add(x * from_x, y, alpha=from_y).add_(z, alpha=from_z)
        srgb_levels(linear, out=out[..., channel])
    return out


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
    # On the CPU the planes are written straight into ``out``.
    direct = torch.from_numpy(out) if lightness.device.type == "cpu" and out.flags.writeable else None
    # Bands of whole rows: each is contiguous in L, Y and ``out``.
    rows = max(1, strip_pixels // width)
    for top, ab in ab_rows(ab_work.float(), height, width, rows):
        bottom = top + ab.shape[-2]
        strip = (lightness[0, 0, top:bottom], luminance[0, 0, top:bottom], ab[0])
        if direct is not None:
            merge_strip(*strip, out=direct[top:bottom])
        else:
            out[top:bottom, :, :3] = merge_strip(*strip).cpu().numpy()
    return out
