"""The output layers shared by every model of the zoo, and the logits layout.

PixelRNN Sec. 3.4 and Table 2: ReLU, a 1×1 mask-B convolution, ReLU, and a
1×1 mask-B convolution to C·K channels, a K-way softmax for each colour
channel. The last layer's output channels come in C contiguous groups of K
(colour channel c owns channels c·K … c·K + K - 1), which is what makes
:func:`to_logits` a reshape.
"""

from __future__ import annotations

import torch
from torch import nn

from colorize.nn.masked_conv import MaskedConv2d


def check_divisible(num_channels: int, **widths: int) -> None:
    """Feature widths must split into equal colour groups; raise a clear error otherwise."""
    for name, width in widths.items():
        if width % num_channels:
            raise ValueError(f"{name}={width} must be divisible by num_channels={num_channels}")


def output_head(in_channels: int, hidden: int, num_channels: int, num_classes: int) -> nn.Sequential:
    """(B, in_channels, H, W) → (B, C·K, H, W), causal over colour groups."""
    return nn.Sequential(
        nn.ReLU(),
        MaskedConv2d(in_channels, hidden, 1, "B", num_channels),
        nn.ReLU(),
        MaskedConv2d(hidden, num_channels * num_classes, 1, "B", num_channels),
    )


def to_logits(out: torch.Tensor, num_channels: int, num_classes: int) -> torch.Tensor:
    """(B, C·K, H, W) grouped by colour channel → logits (B, K, C, H, W)."""
    b, _, height, width = out.shape
    return out.view(b, num_channels, num_classes, height, width).transpose(1, 2)
