"""The deterministic baseline: L2 regression of low-res ab from the same conditioning network.

Regression to the mean is the known failure of deterministic colorizers
(Zhang et al. 2016, Sec. 1; PixColor Sec. 1): where a shirt may be red or
blue, the L2-optimal answer is their desaturated average. The evaluation
pipeline scores this model beside PixColor, so that the gain from sampling is
measured rather than claimed. It shares everything but the decoder: the same
conditioning network reads L at 224×224, a 3×3 convolution maps the 28×28×D
map to ab, and the same refinement network of a PixColor checkpoint lifts it
to full resolution.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from colorize.color import denormalize_ab, normalize_ab
from colorize.models.conditioning import ConditioningConfig, ConditioningNetwork, upgrade_stored_conditioning
from colorize.models.registry import build_model, config_from_dict, register_model

# The colorizer's presets of the same names share these conditioning networks.
PRESETS = {
    "tiny": dict(conditioning=dict(channels=12, num_blocks=1)),
    "small": dict(conditioning=dict(channels=64, num_blocks=2)),
    "medium": dict(conditioning=dict(channels=96, num_blocks=3)),
    "base": dict(conditioning=dict(channels=128, num_blocks=3)),
}


@dataclass
class AbRegressionConfig:
    conditioning: ConditioningConfig = field(default_factory=ConditioningConfig)

    def __post_init__(self):
        self.conditioning = config_from_dict(ConditioningConfig, self.conditioning,
                                             "ab_regression.conditioning")


@register_model("ab_regression", AbRegressionConfig, PRESETS, zoo=False,
                upgrade_stored=upgrade_stored_conditioning)
class AbRegression(nn.Module):
    """L (B, 1, H, W) in [0, 100], any size → ab (B, 2, 28, 28) in Lab units."""

    def __init__(self, config: AbRegressionConfig):
        super().__init__()
        self.config = config
        self.conditioning = ConditioningNetwork(config.conditioning)
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(config.conditioning.channels, 2, 3, padding=1))

    @classmethod
    def from_preset(cls, preset: str = "small", **overrides) -> AbRegression:
        """``build_model("ab_regression", preset, **overrides)``."""
        return build_model(cls.model_name, preset, **overrides)

    def forward(self, lightness: torch.Tensor) -> torch.Tensor:
        return denormalize_ab(self.head(self.conditioning(lightness)))

    def loss(self, lightness: torch.Tensor, ab_low: torch.Tensor) -> torch.Tensor:
        """Mean squared error of normalised ab against the ground truth's 28×28 average."""
        return F.mse_loss(normalize_ab(self(lightness)), normalize_ab(ab_low))

    def pretrained_keys(self) -> set[str]:
        """State-dict keys that the installed package provides and checkpoints leave out."""
        return self.conditioning.pretrained_keys("conditioning.")

    def stage_parameters(self, stage: str = "regression") -> list[nn.Parameter]:
        params = list(self.conditioning.adapter.parameters()) + list(self.head.parameters())
        if self.config.conditioning.finetune_backbone:
            params += list(self.conditioning.backbone.parameters())
        return params
