"""The residual block of PixelCNN, PixelRNN Sec. 3.5 and Fig. 5.

2h features are reduced to h by a 1×1 convolution, an h→h masked k×k
convolution does the spatial work, and a 1×1 convolution restores 2h; the
input is added back. Every convolution is masked (type B) so that the block
stays causal over channel groups as well as over pixels.
"""

from __future__ import annotations

import torch
from torch import nn

from colorize.nn.masked_conv import MaskedConv2d


class MaskedResidualBlock(nn.Module):
    """(B, 2h, H, W) → (B, 2h, H, W); causal, mask B throughout."""

    def __init__(self, hidden: int, kernel_size: int, num_groups: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.ReLU(),
            MaskedConv2d(2 * hidden, hidden, 1, "B", num_groups),
            nn.ReLU(),
            MaskedConv2d(hidden, hidden, kernel_size, "B", num_groups),
            nn.ReLU(),
            MaskedConv2d(hidden, 2 * hidden, 1, "B", num_groups),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)
