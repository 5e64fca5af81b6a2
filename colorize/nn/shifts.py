"""Named shift, pad and skew helpers that make convolutions causal.

After a shift by one, the value at (i, j) holds what was at (i-1, j) (down) or
(i, j-1) (right), with zeros at the border: a layer applied afterwards can
only have seen rows strictly above (or columns strictly left of) the current
pixel. This is how the Gated PixelCNN's vertical stack avoids seeing its own
row, and how the Diagonal BiLSTM's right-to-left pass avoids the current row.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def down_shift(x: torch.Tensor, rows: int = 1) -> torch.Tensor:
    """(B, C, H, W) → (B, C, H, W), moved down by ``rows``, zeros on top."""
    if rows == 0:
        return x
    return F.pad(x, (0, 0, rows, 0))[:, :, : x.shape[2], :]


def right_shift(x: torch.Tensor, cols: int = 1) -> torch.Tensor:
    """(B, C, H, W) → (B, C, H, W), moved right by ``cols``, zeros on the left."""
    if cols == 0:
        return x
    return F.pad(x, (cols, 0, 0, 0))[:, :, :, : x.shape[3]]


def pad_above(x: torch.Tensor, rows: int) -> torch.Tensor:
    """Zero rows on top only, for a convolution that must not look below."""
    return F.pad(x, (0, 0, rows, 0))


def pad_left_right(x: torch.Tensor, left: int, right: int) -> torch.Tensor:
    """Zero columns left and right, for a convolution along a row."""
    return F.pad(x, (left, right, 0, 0))


def skew(x: torch.Tensor) -> torch.Tensor:
    """Offset row i by i columns, channels last: (*, H, W, F) → (*, H, W + H - 1, F).

    PixelRNN Sec. 3.2, Fig. 3: in the skewed map, column t holds the
    diagonal {(i, t - i)}, so a convolution over two consecutive columns
    reaches a pixel's left neighbour and the one above it. Padding each row
    to W + H and reading the flat buffer back with rows of W + H - 1 moves
    row i right by i: one pad and two views, so the backward pass is one
    copy rather than one per row.
    """
    *lead, h, w, f = x.shape
    flat = F.pad(x, (0, 0, 0, h)).reshape(*lead, h * (w + h), f)
    return flat[..., : h * (w + h - 1), :].view(*lead, h, w + h - 1, f)


def unskew(x: torch.Tensor, width: int) -> torch.Tensor:
    """Inverse of :func:`skew`: (*, H, W + H - 1, F) → (*, H, width, F), a view.

    Reading the flat skewed buffer with rows one longer than it was written
    moves row i back left by i.
    """
    *lead, h, skewed_width, f = x.shape
    flat = F.pad(x.reshape(*lead, h * skewed_width, f), (0, 0, 0, h))
    return flat.view(*lead, h, skewed_width + 1, f)[..., :width, :]
