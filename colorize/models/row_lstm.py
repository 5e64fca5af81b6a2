"""Row LSTM: an LSTM that runs down the image one whole row at a time.

"Pixel Recurrent Neural Networks" (van den Oord et al. 2016), Sec. 3.1,
3.4, 3.5 and Table 2. A 7×7 mask-A convolution gives 2h features; L Row LSTM
layers follow, each with a residual connection (Fig. 5: h LSTM units, then a
1×1 convolution back to 2h, added to the layer input); then ReLU, a 1×1
mask-B convolution, ReLU, and a 1×1 mask-B convolution to C·K logits.

In a Row LSTM layer the input-to-state part is a masked 1×k convolution
along the row (mask B: the pixels to the left, and the current pixel's
allowed colour groups), computed for the whole map at once. The state-to-state
part is an unmasked 1D convolution of width k over the previous row's hidden
state, so one step updates a whole row in parallel. Each step reaches k // 2
more columns to either side per row up: the receptive field is a triangle
above the pixel (Fig. 4), which misses part of the available context.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from colorize.models.base import AutoregressiveModel
from colorize.models.registry import register_model
from colorize.nn import MaskedConv2d
from colorize.nn.output_head import check_divisible, output_head, to_logits
from colorize.nn.lstm import init_forget_bias, init_uniform, lstm_cell


@dataclass
class RowLSTMConfig:
    num_channels: int = 3
    num_classes: int = 256
    hidden: int = 48  # h LSTM units; layers carry 2h features; divisible by num_channels
    num_layers: int = 2  # Row LSTM layers
    first_kernel: int = 7
    kernel: int = 3  # k: width of the input-to-state and state-to-state convolutions
    output_hidden: int = 96  # width of the two 1×1 output layers; divisible by num_channels


PRESETS = {
    "tiny": dict(hidden=6, num_layers=1, output_hidden=12),
    "small": dict(hidden=48, num_layers=2, output_hidden=96),
    "base": dict(hidden=72, num_layers=4, output_hidden=192),
}


class RowLSTMLayer(nn.Module):
    """(B, 2h, H, W) → (B, 2h, H, W): one residual Row LSTM layer (Sec. 3.1, Fig. 5)."""

    def __init__(self, hidden: int, kernel: int, num_groups: int):
        super().__init__()
        self.hidden = hidden
        self.kernel = kernel
        self.num_groups = num_groups
        # Gate pre-activations for the whole map at once, group-major (C, 4, h/C).
        self.input_to_state = MaskedConv2d(2 * hidden, 4 * hidden, (1, kernel), "B", num_groups)
        init_forget_bias(self.input_to_state.bias, num_groups)
        # The 1D convolution of width k over the previous row, as one (k·h, 4h)
        # matrix on each column's k neighbours, rows ordered (unit, tap). The previous
        # row is entirely in the past for every colour channel, so it may mix all
        # groups and is unmasked; no bias (the input side has one).
        self.state_to_state = nn.Parameter(torch.empty(kernel * hidden, 4 * hidden))
        init_uniform(self.state_to_state, kernel * hidden)
        self.output = MaskedConv2d(hidden, 2 * hidden, 1, "B", num_groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, height, width = x.shape
        h, k = self.hidden, self.kernel
        # (B, 4h, H, W) → rows first, channels last: (H, B·W, 4h).
        preact = self.input_to_state(x).permute(2, 0, 3, 1).reshape(height, b * width, 4 * h)
        hidden = x.new_zeros(b, width, h)
        cell = x.new_zeros(b, width, h)
        rows = []
        # Sequential over rows, parallel over batch and columns.
        for row_preact in preact.unbind(0):  # each (B·W, 4h)
            # Each column's k neighbours in the previous row, zeros past the edges.
            padded = F.pad(hidden, (0, 0, k // 2, k // 2))  # (B, W + k - 1, h)
            neighbours = padded.unfold(1, k, 1).reshape(b * width, h * k)
            gates = torch.addmm(row_preact, neighbours, self.state_to_state)
            hidden, cell = lstm_cell(gates.view(b, width, 4 * h), cell, self.num_groups)
            rows.append(hidden)
        out = torch.stack(rows, dim=1).permute(0, 3, 1, 2)  # (B, h, H, W)
        return x + self.output(out)


@register_model("row_lstm", RowLSTMConfig, PRESETS)
class RowLSTM(AutoregressiveModel):
    """x (B, C, H, W) in [-1, 1] → logits (B, K, C, H, W)."""

    def __init__(self, config: RowLSTMConfig):
        super().__init__()
        self.config = config
        c, h = config.num_channels, config.hidden
        check_divisible(c, hidden=h, output_hidden=config.output_hidden)
        if config.kernel % 2 == 0:
            raise ValueError(f"kernel must be odd, got {config.kernel}")
        self.input_conv = MaskedConv2d(c, 2 * h, config.first_kernel, "A", c)
        self.layers = nn.Sequential(
            *[RowLSTMLayer(h, config.kernel, c) for _ in range(config.num_layers)]
        )
        self.output = output_head(2 * h, config.output_hidden, c, config.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        out = self.output(self.layers(self.input_conv(x)))
        return to_logits(out, self.num_channels, self.num_classes)
