"""Resizing of image-shaped tensors: the one way each kind of map is resized, wherever it is."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def resize(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(B, C, h, w) → (B, C, height, width), bilinear, antialiased when shrinking.

    The same size returns ``x`` itself. Bilinear with ``align_corners=False``
    is separable, which the strip-wise full-resolution path relies on
    (:func:`colorize.fullres.ab_rows`).
    """
    if tuple(x.shape[-2:]) == (height, width):
        return x
    shrinking = height < x.shape[-2] or width < x.shape[-1]
    return F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False,
                         antialias=shrinking)


def resize_cond_map(cond_map: torch.Tensor | None, height: int, width: int) -> torch.Tensor | None:
    """A conditioning map (B, D, h, w) → (B, D, height, width), bilinear, never antialiased.

    The Gated PixelCNN's own resizing of its spatial conditioning (van den
    Oord et al. 2016, Sec. 2.3), shared with its cached sampler so both see
    the same map; None stays None.
    """
    if cond_map is None or tuple(cond_map.shape[-2:]) == (height, width):
        return cond_map
    return F.interpolate(cond_map, size=(height, width), mode="bilinear", align_corners=False)
