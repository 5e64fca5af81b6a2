"""The full-resolution join on the CPU as one compiled loop: upsampled ab + L → 8-bit sRGB.

The same arithmetic as :func:`colorize.fullres.merge_strip` (kornia's
``lab_to_rgb`` step for step, the sRGB encoding by the threshold table of
:func:`colorize.fullres.srgb_level_table`), but each pixel goes from L and
its two chroma taps to its three bytes in registers, where the tensor version
makes two dozen passes over float temporaries of each strip. numba compiles
the loop for the CPU it runs on (AVX-512 where there is one) the first time it
is called, and caches the machine code beside this file.

Upsampling comes first in width, for the chroma map's own S rows, which is
small (2 · S · W floats), then in height inside the loop: each output row is a
lerp of two of those rows, read in order. Bilinear resizing is separable, so
the result is the whole-image ``F.interpolate``'s up to the last bit of a
float, which moves a byte by one in a few pixels in a million (tested).

Rows are independent, so the photo is cut into one band per thread; the
compiled loop releases the GIL, so plain Python threads run the bands side by
side, and a call from any thread (the web page's, the batch's) is safe.
"""

from __future__ import annotations

import concurrent.futures
import functools
import os

import numba
import numpy as np
import torch

from colorize.color import (D65_WHITE, LAB_A_SCALE, LAB_B_SCALE, LAB_F_KNEE, LAB_L_OFFSET, LAB_L_SCALE,
                            LAB_LINEAR_OFFSET, LAB_LINEAR_SLOPE, XYZ_TO_LINEAR_RGB)
from colorize.fullres import SRGB_BUCKETS, srgb_level_table
from colorize.nn.resize import resize

# Below this many pixels one thread does the whole photo: starting others costs more than they save.
PARALLEL_PIXELS = 1 << 18
# CIE Lab's f⁻¹ (colorize.color's constants, as float32): cube above the knee, linear below it.
KNEE = np.float32(LAB_F_KNEE)
LINEAR_OFFSET = np.float32(LAB_LINEAR_OFFSET)
LINEAR_SCALE = np.float32(1.0 / LAB_LINEAR_SLOPE)
L_OFFSET = np.float32(LAB_L_OFFSET)
INV_L_SCALE = np.float32(1.0 / LAB_L_SCALE)
INV_A_SCALE = np.float32(1.0 / LAB_A_SCALE)
INV_B_SCALE = np.float32(1.0 / LAB_B_SCALE)


@numba.njit(inline="always")
def inverse_lab_f(t):
    return t * t * t if t > KNEE else (t - LINEAR_OFFSET) * LINEAR_SCALE


def compiled(function):
    """``function`` compiled by numba without the GIL, its machine code cached on disk where
    numba finds a writable place (beside this file, or the user's cache folder), else each run."""
    try:
        return numba.njit(nogil=True, cache=True, error_model="numpy")(function)
    except RuntimeError:  # "cannot cache function ...: no locator available": a read-only install
        return numba.njit(nogil=True, error_model="numpy")(function)


@compiled
def merge_rows(lightness, rows, top, weight, base, following, matrix, white, out, start, stop):
    """Rows ``start`` … ``stop`` − 1 of the joined photo, written into ``out[..., :3]``.

    lightness: L (H, W) float32 in [0, 100]. rows: ab (2, S, W) float32,
    resized in width only. top (H,) int32 and weight (H,) float32: output row
    i is ``rows[:, top[i]] · (1 − weight[i]) + rows[:, top[i] + 1] · weight[i]``
    (``top[i] + 1`` clamped to S − 1). base (B + 1,) uint8 and following (B + 1,)
    float32: the sRGB threshold table. matrix (3, 3) float32: XYZ → linear RGB.
    white (3,) float32: the D65 white. out: uint8 (H, W, C ≥ 3).
    """
    width = lightness.shape[1]
    last = rows.shape[1] - 1
    buckets = base.shape[0] - 1
    linear = np.empty((3, width), np.float32)
    for i in range(start, stop):
        k0 = top[i]
        k1 = min(k0 + 1, last)
        w = weight[i]
        a0, a1, b0, b1 = rows[0, k0], rows[0, k1], rows[1, k0], rows[1, k1]
        l_row = lightness[i]
        for j in range(width):
            a = a0[j] + w * (a1[j] - a0[j])
            b = b0[j] + w * (b1[j] - b0[j])
            fy = (l_row[j] + L_OFFSET) * INV_L_SCALE
            x = inverse_lab_f(a * INV_A_SCALE + fy) * white[0]
            y = inverse_lab_f(fy) * white[1]
            z = inverse_lab_f(max(fy - b * INV_B_SCALE, np.float32(0.0))) * white[2]
            for c in range(3):
                v = matrix[c, 0] * x + matrix[c, 1] * y + matrix[c, 2] * z
                linear[c, j] = min(max(v, np.float32(0.0)), np.float32(1.0))
        out_row = out[i]
        for j in range(width):
            for c in range(3):
                v = linear[c, j]
                # The integer clamp keeps the lookup inside the table whatever v is (NaN too).
                k = min(max(np.int32(v * np.float32(buckets)), 0), buckets)
                out_row[j, c] = base[k] + np.uint8(v >= following[k])


def vertical_taps(height: int, source: int) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear upsampling of ``source`` rows to ``height`` (``align_corners=False``, as
    ``F.interpolate``): for each output row, (the upper source row, int32; the lower one's weight,
    float32)."""
    position = (np.arange(height, dtype=np.float32) + np.float32(0.5)) * np.float32(source / height) - 0.5
    position = np.maximum(position, np.float32(0.0))
    top = np.minimum(position.astype(np.int32), source - 1)
    return top, (position - top).astype(np.float32)


@functools.cache
def constants() -> tuple[np.ndarray, ...]:
    """(base, following, matrix, white): the kernel's tables, as numpy arrays."""
    base, following = srgb_level_table(torch.device("cpu"))
    assert base.shape[0] == SRGB_BUCKETS + 1
    return (base.numpy(), following.numpy(), np.array(XYZ_TO_LINEAR_RGB, dtype=np.float32),
            np.array(D65_WHITE, dtype=np.float32))


@functools.cache
def band_pool() -> concurrent.futures.ThreadPoolExecutor:
    return concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1,
                                                 thread_name_prefix="colorize-merge")


# A forked child has none of its parent's pool threads: it starts its own.
os.register_at_fork(after_in_child=band_pool.cache_clear)


def chroma_rows(ab_work: torch.Tensor, height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ab (2, S, S) → (rows (2, R, W) float32, top (H,), weight (H,)) for :func:`merge_rows`.

    Upscaling: the map resized in width only, and the taps of its S rows.
    Shrinking in either direction is antialiased, a filter over many source
    pixels: the map is then resized whole (one side of the photo is under S,
    so it is small) and each output row is its own row.
    """
    size_h, size_w = ab_work.shape[-2:]
    if height < size_h or width < size_w:
        rows = resize(ab_work[None].float(), height, width)[0]
        top, weight = np.arange(height, dtype=np.int32), np.zeros(height, np.float32)
    else:
        rows = resize(ab_work[None].float(), size_h, width)[0]
        top, weight = vertical_taps(height, size_h)
    return np.ascontiguousarray(rows.numpy(), dtype=np.float32), top, weight


def merge_into(out: np.ndarray, lightness: np.ndarray, ab_work: torch.Tensor, threads: int = 1) -> np.ndarray:
    """Join L (H, W) float32 with ab (2, S, S) into 8-bit sRGB, written into ``out[..., :3]``.

    ``out``: C-contiguous uint8 (H, W, 3), or (H, W, 4) whose alpha plane is
    left as it is. ``threads``: bands run side by side. Returns ``out``.
    """
    height, width = lightness.shape
    if out.dtype != np.uint8 or out.shape[:2] != (height, width) or out.ndim != 3 or out.shape[2] < 3:
        raise ValueError(f"out must be uint8 ({height}, {width}, 3 or 4), got {out.dtype} {out.shape}")
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError("out must be a writeable C-contiguous array")
    if ab_work.ndim != 3 or ab_work.shape[0] != 2:
        raise ValueError(f"ab_work must be (2, S, S), got {tuple(ab_work.shape)}")
    lightness = np.ascontiguousarray(lightness, dtype=np.float32)
    rows, top, weight = chroma_rows(ab_work.detach().cpu(), height, width)
    tables = constants()
    bands = max(1, min(threads, height, height * width // PARALLEL_PIXELS))
    if bands == 1:
        merge_rows(lightness, rows, top, weight, *tables, out, 0, height)
        return out
    edges = np.linspace(0, height, bands + 1).astype(int)
    jobs = [band_pool().submit(merge_rows, lightness, rows, top, weight, *tables, out, int(start), int(stop))
            for start, stop in zip(edges[:-1], edges[1:])]
    for job in jobs:
        job.result()
    return out
