"""Building blocks shared by the models, and the resizing every part uses."""

from colorize.nn.gated import gated_activation
from colorize.nn.masked_conv import MaskedConv2d, causal_mask, channel_groups
from colorize.nn.residual import MaskedResidualBlock
from colorize.nn.resize import resize
from colorize.nn.shifts import down_shift, pad_above, pad_left_right, right_shift, skew, unskew

__all__ = [
    "MaskedConv2d",
    "MaskedResidualBlock",
    "causal_mask",
    "channel_groups",
    "down_shift",
    "gated_activation",
    "pad_above",
    "pad_left_right",
    "resize",
    "right_shift",
    "skew",
    "unskew",
]
