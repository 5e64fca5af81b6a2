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
    """Offset row i by i columns: (B, C, H, W) → (B, C, H, W + H - 1).

    PixelRNN Sec. 3.2, Fig. 3: in the skewed map, column t holds the
    diagonal {(i, t - i)}, so a convolution over two consecutive columns
    reaches a pixel's left neighbour and the one above it.
    """
    b, c, h, w = x.shape
    out = x.new_zeros(b, c, h, w + h - 1)
    for i in range(h):
        out[:, :, i, i : i + w] = x[:, :, i]
    return out


def unskew(x: torch.Tensor, width: int) -> torch.Tensor:
    """Inverse of :func:`skew`: (B, C, H, W + H - 1) → (B, C, H, width)."""
    h = x.shape[2]
    return torch.stack([x[:, :, i, i : i + width] for i in range(h)], dim=2)
