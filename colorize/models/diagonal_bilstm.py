"""Diagonal BiLSTM: two LSTMs that sweep the image along its diagonals.

"Pixel Recurrent Neural Networks" (van den Oord et al. 2016), Sec. 3.2,
3.4, 3.5 and Table 2. A 7×7 mask-A convolution gives 2h features; L Diagonal
BiLSTM layers follow, each with a residual connection (Fig. 5: h LSTM units per
direction, then a 1×1 convolution back to 2h, added to the layer input); then
ReLU, a 1×1 mask-B convolution, ReLU, and a 1×1 mask-B convolution to C·K
logits.

In a layer, the input is skewed (Fig. 3: row i moves i columns right), so
that column t of the skewed map holds the diagonal {(i, t - i)}. The
input-to-state part is a 1×1 mask-B convolution; the state-to-state part is a
2×1 convolution over the previous skewed column, which holds each pixel's left
neighbour and the pixel above it. One step updates a whole diagonal. A second
direction does the same on the mirrored image (right to left). Its output at
(i, j) has seen the pixel to the right, so it is shifted down one row before
the two are added: then every pixel sees the whole context above and to the
left, with no blind spot (Fig. 4).

One detail the paper leaves open: a feature at (i, j) never holds pixel
(i, j) itself (mask A), so the right-to-left pass over row i-1, which starts
at its last pixel, would miss that pixel. The model therefore runs on the
image with one zero column added on the right and drops it at the end.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from colorize.models.base import AutoregressiveModel
from colorize.models.registry import register_model
from colorize.nn import MaskedConv2d, causal_mask, down_shift, skew, unskew
from colorize.nn.output_head import check_divisible, output_head, to_logits
from colorize.nn.lstm import init_forget_bias, init_uniform, lstm_cell


@dataclass
class DiagonalBiLSTMConfig:
    num_channels: int = 3
    num_classes: int = 256
    hidden: int = 48  # h units per direction; layers carry 2h features; divisible by num_channels
    num_layers: int = 2  # Diagonal BiLSTM layers
    first_kernel: int = 7
    output_hidden: int = 96  # width of the two 1×1 output layers; divisible by num_channels


PRESETS = {
    "tiny": dict(hidden=6, num_layers=1, output_hidden=12),
    "small": dict(hidden=48, num_layers=2, output_hidden=96),
    "base": dict(hidden=72, num_layers=4, output_hidden=192),
}

DIRECTIONS = 2  # left-to-right, then right-to-left on the mirrored map


class DiagonalBiLSTMLayer(nn.Module):
    """(B, 2h, H, W) → (B, 2h, H, W): one residual Diagonal BiLSTM layer (Sec. 3.2).

    Both directions run in the same loop over skewed columns, stacked in front
    as (2, B, H, ·), channels last: every product is one batched matrix
    multiply with a weight per direction.
    """

    def __init__(self, hidden: int, num_groups: int):
        super().__init__()
        self.hidden = hidden
        self.num_groups = num_groups
        # Input-to-state: a 1×1 mask-B convolution, as a (2h, 4h) matrix per
        # direction with the gates group-major, (C, 4, h/C), on the output side.
        mask = causal_mask(4 * hidden, 2 * hidden, (1, 1), "B", num_groups)[:, :, 0, 0].T
        self.register_buffer("input_mask", mask, persistent=False)
        self.input_to_state = nn.Parameter(torch.empty(DIRECTIONS, 2 * hidden, 4 * hidden))
        self.input_bias = nn.Parameter(torch.zeros(DIRECTIONS, 1, 4 * hidden))
        init_uniform(self.input_to_state, 2 * hidden)
        init_forget_bias(self.input_bias, DIRECTIONS * num_groups)
        # State-to-state: the 2×1 convolution over the previous skewed column, as
        # a (2h, 4h) matrix per direction applied to [state above, state to the
        # left]. Both pixels are in the past for every colour channel, so all
        # groups may mix; no bias (the input side has one).
        self.state_to_state = nn.Parameter(torch.empty(DIRECTIONS, 2 * hidden, 4 * hidden))
        init_uniform(self.state_to_state, 2 * hidden)
        self.output = MaskedConv2d(hidden, 2 * hidden, 1, "B", num_groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, height, width = x.shape
        h = self.hidden
        # The right-to-left direction is the same recurrence on the mirrored map.
        inputs = x.permute(0, 2, 3, 1)  # (B, H, W, 2h)
        inputs = torch.stack([inputs, inputs.flip(2)]).reshape(DIRECTIONS, -1, 2 * h)
        preact = torch.baddbmm(self.input_bias, inputs, self.input_to_state * self.input_mask)
        # Skewing after the bias leaves zero pre-activations outside the image,
        # so the states there stay exactly zero (σ(0)·tanh(0) = 0).
        preact = skew(preact.view(DIRECTIONS * b, height, width, 4 * h))
        columns_preact = preact.view(DIRECTIONS, b, height, -1, 4 * h).unbind(3)

        hidden = x.new_zeros(DIRECTIONS, b, height, h)
        cell = x.new_zeros(DIRECTIONS, b, height, h)
        columns = []
        # Sequential over skewed columns (diagonals), parallel over batch and rows.
        # Cells right of the image only feed cells right of it, dropped by unskew.
        for column_preact in columns_preact:  # each (2, B, H, 4h)
            # Row i of the previous column holds the left neighbour; row i - 1 the
            # pixel above (zero for the first row).
            above = F.pad(hidden, (0, 0, 1, 0))[:, :, :height]
            neighbours = torch.cat([above, hidden], dim=-1).view(DIRECTIONS, b * height, 2 * h)
            column_preact = column_preact.reshape(DIRECTIONS, b * height, 4 * h)
            gates = torch.baddbmm(column_preact, neighbours, self.state_to_state)
            gates = gates.view(DIRECTIONS, b, height, 4 * h)
            # The cell state runs along the skewed row: c_prev is the left neighbour's.
            hidden, cell = lstm_cell(gates, cell, self.num_groups)
            columns.append(hidden)
        out = unskew(torch.stack(columns, dim=3), width)  # (2, B, H, W, h)
        out = out.permute(0, 1, 4, 2, 3)  # (2, B, h, H, W)

        left_to_right = out[0]
        right_to_left = out[1].flip(-1)
        # The right-to-left state at (i, j) has read (i, j+1), a future pixel;
        # moved down one row it holds only rows above i, all in the past.
        return x + self.output(left_to_right + down_shift(right_to_left))


@register_model("diagonal_bilstm", DiagonalBiLSTMConfig, PRESETS)
class DiagonalBiLSTM(AutoregressiveModel):
    """x (B, C, H, W) in [-1, 1] → logits (B, K, C, H, W)."""

    def __init__(self, config: DiagonalBiLSTMConfig):
        super().__init__()
        self.config = config
        c, h = config.num_channels, config.hidden
        check_divisible(c, hidden=h, output_hidden=config.output_hidden)
        self.input_conv = MaskedConv2d(c, 2 * h, config.first_kernel, "A", c)
        self.layers = nn.Sequential(
            *[DiagonalBiLSTMLayer(h, c) for _ in range(config.num_layers)]
        )
        self.output = output_head(2 * h, config.output_hidden, c, config.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        # Every feature at (i, j) hides pixel (i, j) itself (mask A), so the
        # right-to-left pass over row i-1, which starts at its last pixel, would
        # never see that pixel: a one-pixel blind spot at (i-1, W-1). One zero
        # column on the right gives the pass a start whose features see it.
        # Causal: the padded pixel comes after (i, W-1) in raster order.
        features = self.layers(self.input_conv(F.pad(x, (0, 1))))[..., : x.shape[-1]]
        out = self.output(features)
        return to_logits(out, self.num_channels, self.num_classes)
