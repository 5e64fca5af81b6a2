"""The gated activation unit of the Gated PixelCNN.

"Conditional Image Generation with PixelCNN Decoders" (van den Oord et al.
2016), Eq. 2: y = tanh(W_f * x) ⊙ σ(W_g * x). The convolution produces 2k
channels; the first k are the filter f, the last k the gate g.
"""

from __future__ import annotations

import torch
from torch import nn


def gated_activation(x: torch.Tensor) -> torch.Tensor:
    """(B, 2k, H, W) → (B, k, H, W): tanh of the first half times sigmoid of the second."""
    if x.shape[1] % 2:
        raise ValueError(f"gated activation needs an even channel count, got {x.shape[1]}")
    f, g = x.chunk(2, dim=1)
    return torch.tanh(f) * torch.sigmoid(g)


class GatedActivation(nn.Module):
    """Module form of :func:`gated_activation`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return gated_activation(x)
