"""Chroma that follows the photo's own edges: a guided filter of ab by L (He et al. 2010).

The refinement network predicts ab at the working resolution from 28×28
bins, and its colour edges are soft: a colour spreads a few pixels over an
object's outline. The guided filter (He, Sun and Tang, "Guided Image
Filtering", ECCV 2010, Sec. 3.1, Algorithm 1) models the chroma inside each
(2r + 1)² window as a linear function of the lightness, ``ab = A · L + B``,
fitted by least squares with a ridge ``eps`` on A. Where L has an edge
(variance ≫ eps) the chroma takes its step there; where L is flat or only
grain (variance ≪ eps), A ≈ 0 and the chroma is a local mean.

The fast guided filter (He and Sun 2015, "Fast Guided Filter", Sec. 2) fits
A and B at a low resolution and upsamples *them*, not ab, to the photo's
size: ``ab = A↑ · L + B↑`` with the photo's full-resolution L puts the colour
edges on the photo's own edges at any size, for the cost of two more lerps a
pixel in the merge (:mod:`colorize.merge_kernel`), and nothing more in memory
than the coefficient maps (4 · S² floats).

Here A and B are fitted at the working resolution S against L resized to S.
At S itself, :func:`apply_coefficients` with that L is the plain guided filter.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# Window radius at the working resolution (224: a 9×9 window, about a 28×28
# cell's third) and the ridge, in L units squared: a step of 10 L units
# across a window has a variance of about 25, grain of σ 3 about 9. Chosen on
# the source-held-out photos (pipelines.evaluate_heldout --edge-filter);
# the model card has the sweep.
DEFAULT_RADIUS = 4
DEFAULT_EPS = 25.0


def box_mean(x: torch.Tensor, radius: int) -> torch.Tensor:
    """The mean of x (B, C, H, W) over each (2r + 1)² window, windows cut at the border
    (a mean over the pixels inside the photo, so the border has no dark or mirrored halo)."""
    size = 2 * radius + 1
    return F.avg_pool2d(x, size, stride=1, padding=radius, count_include_pad=False)


def guided_coefficients(lightness: torch.Tensor, ab: torch.Tensor, radius: int = DEFAULT_RADIUS,
                        eps: float = DEFAULT_EPS) -> torch.Tensor:
    """L (B, 1, S, S) and ab (B·N, 2, S, S), image-major → coefficients (B·N, 4, S, S):
    channels (A_a, A_b, B_a, B_b), the window-averaged linear fit ``ab ≈ A · L + B``
    (He et al. 2010, Eq. 5–8)."""
    if lightness.ndim != 4 or lightness.shape[1] != 1 or ab.ndim != 4 or ab.shape[1] != 2:
        raise ValueError(f"lightness must be (B, 1, S, S) and ab (B·N, 2, S, S), got "
                         f"{tuple(lightness.shape)} and {tuple(ab.shape)}")
    if ab.shape[0] % lightness.shape[0] or ab.shape[-2:] != lightness.shape[-2:]:
        raise ValueError(f"ab {tuple(ab.shape)} must hold whole groups of maps of L's size {tuple(lightness.shape)}")
    if radius < 1 or eps <= 0:
        raise ValueError(f"radius must be >= 1 and eps > 0, got {radius} and {eps}")
    guide = lightness.float().repeat_interleave(ab.shape[0] // lightness.shape[0], dim=0)
    ab = ab.float()
    mean_l = box_mean(guide, radius)
    mean_ab = box_mean(ab, radius)
    variance = box_mean(guide * guide, radius) - mean_l * mean_l
    covariance = box_mean(guide * ab, radius) - mean_l * mean_ab
    slope = covariance / (variance.clamp(min=0.0) + eps)
    offset = mean_ab - slope * mean_l
    # Every pixel lies in (2r + 1)² windows; its coefficients are their mean (Eq. 8).
    return box_mean(torch.cat([slope, offset], dim=1), radius)


def apply_coefficients(coefficients: torch.Tensor, lightness: torch.Tensor) -> torch.Tensor:
    """Coefficients (M, 4, S, S) and L (1 or M, 1, S, S) of the same size → ab (M, 2, S, S) = A · L + B."""
    return coefficients[:, :2] * lightness + coefficients[:, 2:]


def guided_filter(lightness: torch.Tensor, ab: torch.Tensor, radius: int = DEFAULT_RADIUS,
                  eps: float = DEFAULT_EPS) -> torch.Tensor:
    """L (B, 1, S, S), ab (B·N, 2, S, S) → ab (B·N, 2, S, S) with its edges on L's."""
    coefficients = guided_coefficients(lightness, ab, radius, eps)
    repeats = ab.shape[0] // lightness.shape[0]
    return apply_coefficients(coefficients, lightness.float().repeat_interleave(repeats, dim=0))
