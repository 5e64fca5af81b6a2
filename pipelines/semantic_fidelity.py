"""Semantic fidelity: does an ImageNet classifier see in a colorization what it sees in the original?

Zhang et al. (ECCV 2016, "Colorful Image Colorization", Sec. 3.1, "semantic
interpretability") score a colorization by what a pretrained classifier makes
of it: a good colorization makes a photo as recognisable as the original,
and at least as recognisable as its gray version. Two numbers per image:

* **top-1 agreement**: the classifier's top class on the image equals its top
  class on the original;
* **KL(original ‖ image)**: how far its whole class distribution moved, in nats.

The classifier must not be the colorizer's own backbone, which has seen
every gray input and would flatter it: :func:`independent_backbone` picks
EfficientNet-Lite1 for a Lite0 or Lite2 colorizer, and Lite2 for a Lite1 one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from colorize.models.conditioning import BACKBONE_SIZE, load_efficientnet_lite, scale_for_backbone


def independent_backbone(colorizer_backbone: str) -> str:
    """The classifier variant that judges a colorizer built on ``colorizer_backbone``."""
    return "lite2" if colorizer_backbone == "lite1" else "lite1"


class SemanticJudge(nn.Module):
    """sRGB images (B, 3, H, W) in [0, 1] → ImageNet log-probabilities (B, 1000).

    Images are resized (bilinear, antialiased) to 224×224 and scaled as the
    classifier was trained (``scale_for_backbone``, "efficientnet").
    """

    def __init__(self, variant: str = "lite1"):
        super().__init__()
        self.variant = variant
        self.net = load_efficientnet_lite(variant).requires_grad_(False)

    @torch.no_grad()
    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        if rgb.shape[-2:] != (BACKBONE_SIZE, BACKBONE_SIZE):
            rgb = F.interpolate(rgb, size=(BACKBONE_SIZE, BACKBONE_SIZE), mode="bilinear",
                                align_corners=False, antialias=True)
        return self.net.eval()(scale_for_backbone(rgb.clamp(0, 1))).log_softmax(dim=1)


def agreement_and_kl(log_p_original: torch.Tensor, log_p_image: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per image: 1.0 where the top-1 classes agree (else 0.0), and KL(original ‖ image) in nats.

    Both inputs are log-probabilities (B, K) of the same B photos.
    """
    agree = (log_p_original.argmax(dim=1) == log_p_image.argmax(dim=1)).double()
    kl = (log_p_original.exp() * (log_p_original - log_p_image)).sum(dim=1).clamp_min(0).double()
    return agree.tolist(), kl.tolist()
