"""The refinement network: gray image + low-resolution ab → ab at the working resolution.

PixColor (Guadarrama et al. 2017), Sec. 3.3: the PixelCNN only gets colour
right at 28×28; a feed-forward network then lifts it to full resolution,
aligning chroma with the edges of the gray image. It is trained on its own, on
ground-truth chroma downsampled to 28×28 and snapped to bin centres, which is
exactly what a PixelCNN sample looks like.

The network predicts a correction to the bilinearly upsampled low-res ab, so
that at initialisation it already returns the plain upsampling, and training
only has to learn where edges move the colour. It is a small U-Net: two
stride-2 stages down, residual blocks at quarter resolution, two stages up
with skip connections.

With colour hints (:mod:`colorize.hints`), the hint map at the working
resolution enters the first convolution through its own zero-initialised,
bias-free kernel: the network starts as the one without hints, and learns to
put the hinted colour exactly where the user clicked, which the 28×28 chroma
cannot.

Loss: L1 on ab. Given the low-res chroma, most pixels have one right answer;
where they do not (a boundary the 28×28 grid blurs), L2 would average the two
sides into a muddy in-between, while L1 picks the median, one side or the
other, which keeps edges crisp and colours saturated (PixColor Sec. 3.3 also
notes the desaturation of regression losses).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from colorize.color import denormalize_ab, normalize_ab, normalize_l
from colorize.hints import HINT_CHANNELS
from colorize.models.conditioning import ResidualBlock


@dataclass
class RefinementConfig:
    width: int = 32  # channels at full resolution; 2× and 4× at the lower stages
    num_blocks: int = 3  # residual blocks at quarter resolution


def conv_relu(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, stride, padding=1), nn.ReLU())


class RefinementNetwork(nn.Module):
    """L (B, 1, S, S) in [0, 100] and ab_low (B, 2, h, w) in ab units → ab (B, 2, S, S).

    S must be divisible by 4. Any h, w: ab_low is resized bilinearly to S×S.
    ``hints``: None or a hint map (B, 3, S, S), for a network built with hints.
    """

    def __init__(self, config: RefinementConfig, hints: bool = False):
        super().__init__()
        self.config = config
        w = config.width
        self.stem = conv_relu(3, w)
        self.down1 = conv_relu(w, 2 * w, stride=2)
        self.down2 = conv_relu(2 * w, 4 * w, stride=2)
        self.middle = nn.Sequential(*(ResidualBlock(4 * w) for _ in range(config.num_blocks)))
        self.up2 = conv_relu(4 * w + 2 * w, 2 * w)
        self.up1 = conv_relu(2 * w + w, w)
        self.out = nn.Conv2d(w, 2, 3, padding=1)
        # Start as the identity on the upsampled chroma (see the module docstring).
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.stem_hints = None
        if hints:
            self.add_hint_input()

    def add_hint_input(self) -> None:
        """The zero-initialised hint kernel of the first convolution (module docstring)."""
        weight = self.stem[0].weight
        self.stem_hints = nn.Conv2d(HINT_CHANNELS, weight.shape[0], 3, padding=1, bias=False,
                                    device=weight.device)
        nn.init.zeros_(self.stem_hints.weight)

    def forward(self, lightness: torch.Tensor, ab_low: torch.Tensor,
                hints: torch.Tensor | None = None) -> torch.Tensor:
        if lightness.dim() != 4 or lightness.shape[1] != 1:
            raise ValueError(f"L must be (B, 1, S, S), got {tuple(lightness.shape)}")
        if ab_low.dim() != 4 or ab_low.shape[:2] != (lightness.shape[0], 2):
            raise ValueError(
                f"ab_low must be (B={lightness.shape[0]}, 2, h, w), got {tuple(ab_low.shape)}"
            )
        size = lightness.shape[-2:]
        if size[0] % 4 or size[1] % 4:
            raise ValueError(f"the working resolution must be divisible by 4, got {tuple(size)}")
        ab_up = normalize_ab(F.interpolate(ab_low, size=size, mode="bilinear", align_corners=False))
        x0 = self.stem[0](torch.cat([normalize_l(lightness), ab_up], dim=1))
        if hints is not None:
            if self.stem_hints is None:
                raise ValueError("this model was not trained with colour hints")
            if hints.shape != (lightness.shape[0], HINT_CHANNELS, *size):
                raise ValueError(f"hints must be (B, {HINT_CHANNELS}, S, S) like L, got {tuple(hints.shape)}")
            x0 = x0 + self.stem_hints(hints)
        x0 = self.stem[1](x0)
        x1 = self.down1(x0)
        x2 = self.middle(self.down2(x1))
        y1 = self.up2(torch.cat([F.interpolate(x2, size=x1.shape[-2:], mode="nearest"), x1], 1))
        y0 = self.up1(torch.cat([F.interpolate(y1, size=size, mode="nearest"), x0], 1))
        return denormalize_ab(ab_up + self.out(y0))

    def loss(self, lightness: torch.Tensor, ab_low: torch.Tensor, ab_target: torch.Tensor,
             hints: torch.Tensor | None = None) -> torch.Tensor:
        """Mean absolute ab error, in ab units / AB_SCALE (see the module docstring)."""
        return F.l1_loss(normalize_ab(self(lightness, ab_low, hints)), normalize_ab(ab_target))
