"""Masked convolutions with the channel-group masks of PixelRNN/PixelCNN.

"Pixel Recurrent Neural Networks" (van den Oord et al. 2016), Sec. 3.4 and
Fig. 2: the C colour channels of a pixel are generated in order (R→G→B, or
a→b for chroma). Every feature map is split into C equal, contiguous groups;
group c of a layer's output may read, *at the current pixel*, only input
groups < c (mask A, first layer) or ≤ c (mask B, later layers). Pixels before
the current one in raster order are visible to every group; pixels after it
to none.

Group membership is by contiguous blocks: channel i of an n-channel map is in
group ``i // (n // C)``. The first layer's input has n = C (one channel a
group); an output layer with C·K channels has group ``o // K``, so its output
reshapes to (B, C, K, H, W).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

MASK_TYPES = ("A", "B")


def channel_groups(num_features: int, num_groups: int) -> torch.Tensor:
    """Group index of each of ``num_features`` channels, shape (num_features,)."""
    if num_features % num_groups:
        raise ValueError(
            f"{num_features} channels cannot be split into {num_groups} equal colour groups"
        )
    return torch.arange(num_features) // (num_features // num_groups)


def causal_mask(
    out_channels: int,
    in_channels: int,
    kernel_size: tuple[int, int],
    mask_type: str,
    num_groups: int,
) -> torch.Tensor:
    """Weight mask of shape (out_channels, in_channels, kh, kw), entries 0 or 1.

    The kernel's centre (kh // 2, kw // 2) is the current pixel. Rows above
    the centre are open; the centre row is open left of the centre; the centre
    tap is open between groups as mask A / B allow; everything else is shut.
    """
    if mask_type not in MASK_TYPES:
        raise ValueError(f"mask_type must be 'A' or 'B', got {mask_type!r}")
    kh, kw = kernel_size
    ch, cw = kh // 2, kw // 2
    mask = torch.zeros(out_channels, in_channels, kh, kw)
    mask[:, :, :ch, :] = 1
    mask[:, :, ch, :cw] = 1
    out_group = channel_groups(out_channels, num_groups)[:, None]
    in_group = channel_groups(in_channels, num_groups)[None, :]
    centre_open = out_group > in_group if mask_type == "A" else out_group >= in_group
    mask[:, :, ch, cw] = centre_open.float()
    return mask


class MaskedConv2d(nn.Conv2d):
    """A 'same'-padded convolution whose kernel only sees the causal past.

    Args:
        mask_type: "A" hides the current pixel's current and later channel
            groups (first layer); "B" shows the current group (later layers).
        num_groups: C, the number of colour channels generated in order.

    Shapes: (B, in_channels, H, W) → (B, out_channels, H, W). Kernel sizes
    must be odd so that the centre tap is the current pixel.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        mask_type: str,
        num_groups: int,
        bias: bool = True,
    ):
        kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
        if kh % 2 == 0 or kw % 2 == 0:
            raise ValueError(f"masked convolutions need odd kernel sizes, got {(kh, kw)}")
        super().__init__(in_channels, out_channels, (kh, kw), padding=(kh // 2, kw // 2), bias=bias)
        self.mask_type = mask_type
        self.register_buffer(
            "mask", causal_mask(out_channels, in_channels, (kh, kw), mask_type, num_groups),
            persistent=False,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, self.stride, self.padding)
