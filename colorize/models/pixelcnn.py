"""PixelCNN: a stack of masked convolutions.

"Pixel Recurrent Neural Networks" (van den Oord et al. 2016), Sec. 3.4 and
Table 2: a 7×7 mask-A convolution, residual blocks of mask-B 3×3
convolutions (Fig. 5), then two 1×1 mask-B ReLU layers and a K-way softmax per
colour channel. Its receptive field has a blind spot above-right of the
current pixel (Gated PixelCNN paper, Sec. 2.1), which the tests show.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from colorize.models.base import AutoregressiveModel
from colorize.models.registry import register_model
from colorize.nn import MaskedConv2d, MaskedResidualBlock
from colorize.nn.output_head import check_divisible, output_head, to_logits


@dataclass
class PixelCNNConfig:
    num_channels: int = 3
    num_classes: int = 256
    hidden: int = 24  # h; residual blocks carry 2h features; divisible by num_channels
    num_layers: int = 4  # residual blocks after the first layer
    first_kernel: int = 7
    kernel: int = 3
    output_hidden: int = 96  # width of the two 1×1 output layers; divisible by num_channels


PRESETS = {
    "tiny": dict(hidden=6, num_layers=2, output_hidden=12),
    "small": dict(hidden=48, num_layers=6, output_hidden=96),
    "base": dict(hidden=96, num_layers=12, output_hidden=192),
}


@register_model("pixelcnn", PixelCNNConfig, PRESETS)
class PixelCNN(AutoregressiveModel):
    """x (B, C, H, W) in [-1, 1] → logits (B, K, C, H, W)."""

    def __init__(self, config: PixelCNNConfig):
        super().__init__()
        self.config = config
        c, h = config.num_channels, config.hidden
        check_divisible(c, hidden=h, output_hidden=config.output_hidden)
        self.input_conv = MaskedConv2d(c, 2 * h, config.first_kernel, "A", c)
        self.blocks = nn.Sequential(
            *[MaskedResidualBlock(h, config.kernel, c) for _ in range(config.num_layers)]
        )
        self.output = output_head(2 * h, config.output_hidden, c, config.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        out = self.output(self.blocks(self.input_conv(x)))
        return to_logits(out, self.num_channels, self.num_classes)
