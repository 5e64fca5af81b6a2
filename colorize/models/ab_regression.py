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

import copy
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from colorize.color import denormalize_ab, normalize_ab
from colorize.models.conditioning import ConditioningConfig, ConditioningNetwork

PRESETS = {
    "tiny": dict(conditioning=ConditioningConfig(channels=12, num_blocks=1)),
    "small": dict(conditioning=ConditioningConfig(channels=64, num_blocks=2)),
    "base": dict(conditioning=ConditioningConfig(channels=128, num_blocks=3)),
}


@dataclass
class AbRegressionConfig:
    conditioning: ConditioningConfig = field(default_factory=ConditioningConfig)

    def __post_init__(self):
        if isinstance(self.conditioning, dict):
            self.conditioning = ConditioningConfig.from_stored(self.conditioning)


class AbRegression(nn.Module):
    """L (B, 1, 224, 224) in [0, 100] → ab (B, 2, 28, 28) in Lab units."""

    model_name = "ab_regression"

    def __init__(self, config: AbRegressionConfig):
        super().__init__()
        self.config = config
        self.conditioning = ConditioningNetwork(config.conditioning)
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(config.conditioning.channels, 2, 3, padding=1))

    @classmethod
    def from_preset(cls, preset: str = "small") -> AbRegression:
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; available: {', '.join(PRESETS)}")
        return cls(AbRegressionConfig(**copy.deepcopy(PRESETS[preset])))

    @classmethod
    def from_config_dict(cls, config: dict[str, Any]) -> AbRegression:
        return cls(AbRegressionConfig(**config))

    def forward(self, l_backbone: torch.Tensor) -> torch.Tensor:
        return denormalize_ab(self.head(self.conditioning(l_backbone)))

    def loss(self, l_backbone: torch.Tensor, ab_low: torch.Tensor) -> torch.Tensor:
        """Mean squared error of normalised ab against the ground truth's 28×28 average."""
        return F.mse_loss(normalize_ab(self(l_backbone)), normalize_ab(ab_low))

    def pretrained_keys(self) -> set[str]:
        """State-dict keys that the installed package provides and checkpoints leave out."""
        return self.conditioning.pretrained_keys("conditioning.")

    def stage_parameters(self, stage: str = "regression") -> list[nn.Parameter]:
        params = list(self.conditioning.adapter.parameters()) + list(self.head.parameters())
        if self.config.conditioning.finetune_backbone:
            params += list(self.conditioning.backbone.parameters())
        return params
