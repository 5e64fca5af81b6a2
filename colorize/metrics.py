"""Evaluation metrics for colorizations (pure functions).

Colorization has many right answers (PixColor, Guadarrama et al. 2017), so
pixel-wise agreement with the ground truth is a poor measure of a plausible
result: a red car recoloured blue is a fine answer with a low score. We still report
PSNR and SSIM against the original, next to two measures that do not need a
reference: the colourfulness of one image (Hasler and Süsstrunk 2003) and the
diversity of several samples of the same gray input.

One convention throughout: an image is a numpy float array of shape (H, W, 3)
holding sRGB in [0, 1]; ab samples are numpy float arrays in Lab units. Torch
tensors from the models must be converted by the caller (e.g.
``rgb.permute(1, 2, 0).cpu().numpy()``), so that a (3, H, W) tensor is never
silently read as an image three pixels high.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

# Values this far outside [0, 1] are float rounding (e.g. from Lab -> sRGB);
# anything further means the caller passed 0-255 values or unscaled output.
RANGE_TOLERANCE = 1e-4

# skimage's default SSIM window (Wang et al. 2004 use 11 with Gaussian weights;
# skimage's default is a 7x7 uniform window).
SSIM_WIN_SIZE = 7


def _check_rgb(image: np.ndarray, name: str) -> None:
    """Raise unless ``image`` is a finite float array of shape (H, W, 3) in [0, 1]."""
    if not isinstance(image, np.ndarray):
        raise TypeError(
            f"{name} must be a numpy array of shape (H, W, 3), got {type(image).__name__}"
        )
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"{name} must have shape (H, W, 3), got {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"{name} must be non-empty, got shape {image.shape}")
    if not np.issubdtype(image.dtype, np.floating):
        raise ValueError(
            f"{name} must be a float array in [0, 1], got dtype {image.dtype} "
            "(divide 8-bit images by 255)"
        )
    if not np.isfinite(image).all():
        raise ValueError(f"{name} contains NaN or inf")
    low, high = float(image.min()), float(image.max())
    if low < -RANGE_TOLERANCE or high > 1.0 + RANGE_TOLERANCE:
        raise ValueError(f"{name} must lie in [0, 1], got range [{low}, {high}]")


def _check_pair(pred: np.ndarray, target: np.ndarray) -> None:
    """Raise unless ``pred`` and ``target`` are valid images of the same shape."""
    _check_rgb(pred, "pred")
    _check_rgb(target, "target")
    if pred.shape != target.shape:
        raise ValueError(
            f"pred and target must have the same shape, got {pred.shape} and {target.shape}"
        )


def psnr(pred: np.ndarray, target: np.ndarray) -> float:
    """Peak signal-to-noise ratio over all three RGB channels, in dB.

    ``10 * log10(1 / MSE)`` with data range 1.

    Args:
        pred: (H, W, 3) float sRGB in [0, 1], the colorization.
        target: (H, W, 3) float sRGB in [0, 1], the original colour image.
    Returns:
        PSNR in dB; ``float('inf')`` for identical images (MSE = 0), as
        skimage does. Averages over images must handle that case.
    """
    _check_pair(pred, target)
    # skimage returns inf here too, but through a divide-by-zero warning.
    if np.array_equal(pred, target):
        return float("inf")
    return float(peak_signal_noise_ratio(target, pred, data_range=1.0))


def ssim(pred: np.ndarray, target: np.ndarray) -> float:
    """Structural similarity (Wang et al. 2004) of two RGB images.

    skimage's SSIM with a uniform 7x7 window, computed per channel and
    averaged. Images smaller than 7 px on a side use the largest odd window
    that fits, since a window larger than the image is undefined.

    Args:
        pred: (H, W, 3) float sRGB in [0, 1].
        target: (H, W, 3) float sRGB in [0, 1].
    Returns:
        SSIM in [-1, 1]; 1 for identical images.
    Raises:
        ValueError: if either side is below 3 px (no odd window >= 3 fits).
    """
    _check_pair(pred, target)
    min_side = min(pred.shape[0], pred.shape[1])
    if min_side < 3:
        raise ValueError(
            f"ssim needs images at least 3 px on a side, got shape {pred.shape}"
        )
    win_size = min(SSIM_WIN_SIZE, min_side if min_side % 2 == 1 else min_side - 1)
    return float(
        structural_similarity(
            target, pred, win_size=win_size, channel_axis=-1, data_range=1.0
        )
    )


def colourfulness(image: np.ndarray) -> float:
    """Colourfulness M of Hasler and Süsstrunk (2003), Sec. 3.

    With R, G, B scaled to 0-255 as in the paper,
    ``rg = R - G``, ``yb = (R + G) / 2 - B`` and
    ``M = sqrt(std(rg)^2 + std(yb)^2) + 0.3 * sqrt(mean(rg)^2 + mean(yb)^2)``,
    with population standard deviations over the pixels. In the paper's
    scale M = 0 is "not colourful", about 33 "moderately" and about 109
    "extremely colourful". A gray image (R = G = B) scores exactly 0, which
    is what a colorizer that collapses to sepia or gray is penalised by.

    Args:
        image: (H, W, 3) float sRGB in [0, 1].
    Returns:
        M >= 0.
    """
    _check_rgb(image, "image")
    rgb = image.astype(np.float64) * 255.0
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    rg = red - green
    yb = 0.5 * (red + green) - blue
    std_rgyb = math.sqrt(float(rg.var()) + float(yb.var()))
    mean_rgyb = math.sqrt(float(rg.mean()) ** 2 + float(yb.mean()) ** 2)
    return std_rgyb + 0.3 * mean_rgyb


def mean_pairwise_ab_distance(ab_samples: np.ndarray) -> float:
    """Diversity of N colorizations of one gray image.

    For every unordered pair of samples (i < j), the Euclidean distance in the
    ab plane is taken per pixel and averaged over pixels; the result is the
    mean over all N(N-1)/2 pairs. L is shared by construction, so ab alone
    carries every difference between samples.

    Args:
        ab_samples: (N, 2, H, W) float, ab in Lab units, N >= 2.
    Returns:
        Mean pairwise distance in ab units; 0 when all samples are identical.
    """
    if not isinstance(ab_samples, np.ndarray):
        raise TypeError(
            "ab_samples must be a numpy array of shape (N, 2, H, W), "
            f"got {type(ab_samples).__name__}"
        )
    if ab_samples.ndim != 4 or ab_samples.shape[1] != 2:
        raise ValueError(f"ab_samples must have shape (N, 2, H, W), got {ab_samples.shape}")
    if not np.issubdtype(ab_samples.dtype, np.floating):
        raise ValueError(f"ab_samples must be a float array, got dtype {ab_samples.dtype}")
    num_samples = ab_samples.shape[0]
    if num_samples < 2:
        raise ValueError(f"diversity needs at least 2 samples, got N = {num_samples}")
    if ab_samples.shape[2] == 0 or ab_samples.shape[3] == 0:
        raise ValueError(f"ab_samples must have pixels, got shape {ab_samples.shape}")
    if not np.isfinite(ab_samples).all():
        raise ValueError("ab_samples contains NaN or inf")

    ab = ab_samples.astype(np.float64)
    total = 0.0
    # One row of pairs at a time: an (N, N, 2, H, W) broadcast would hold N^2
    # images in memory at once.
    for i in range(num_samples - 1):
        diff = ab[i + 1 :] - ab[i]  # (N - 1 - i, 2, H, W)
        total += float(np.sqrt((diff**2).sum(axis=1)).mean(axis=(1, 2)).sum())
    num_pairs = num_samples * (num_samples - 1) // 2
    return total / num_pairs


def best_and_mean(values: Sequence[float], higher_is_better: bool = True) -> tuple[float, float]:
    """Best-of-N and mean of one metric over N samples of the same image.

    Best-of-N scores a sampler against the ground truth as if one of its N
    samples only had to be close; the mean scores a single draw.

    Args:
        values: N >= 1 metric values (``inf`` allowed, e.g. PSNR of a perfect
            sample; NaN is not).
        higher_is_better: True for PSNR/SSIM/colourfulness, False for errors.
    Returns:
        (best, mean).
    """
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"values must be a non-empty 1-D sequence, got shape {array.shape}")
    if np.isnan(array).any():
        raise ValueError("values contains NaN")
    best = array.max() if higher_is_better else array.min()
    return float(best), float(array.mean())


# The photo's strongest lightness edges: the top share of its pixels by gradient
# magnitude; "elsewhere" is the lower half. The floor keeps a flat chroma (gray)
# from dividing by zero: it is below any visible change (ab units per pixel).
EDGE_SHARE = 0.05
FLAT_SHARE = 0.5
CHROMA_GRADIENT_FLOOR = 0.05


def _gradient_magnitude(planes: np.ndarray) -> np.ndarray:
    """(H, W, C) → (H − 1, W − 1): the length of the forward differences over all C planes."""
    dy = planes[1:, :-1] - planes[:-1, :-1]
    dx = planes[:-1, 1:] - planes[:-1, :-1]
    return np.sqrt((dy**2 + dx**2).sum(-1))


def edge_chroma_sharpness(lightness: np.ndarray, ab: np.ndarray) -> float:
    """How sharply the chroma changes across the photo's strongest lightness edges,
    relative to how it changes where the lightness is flat.

    ``lightness`` (H, W) in [0, 100], the original photo's L, which defines the
    edges (the top ``EDGE_SHARE`` of its pixels by gradient) and the flat
    parts (its lower ``FLAT_SHARE``); ``ab`` (H, W, 2) in Lab units, the
    chroma to score. Returns the ratio of its mean gradient at the edges to
    that in the flat parts. Colour that stops at an object's edge gives a high
    ratio; colour that bleeds across it, a ratio near 1. Scored for the
    original's own chroma too, the ratio of the two says how close a
    colorization comes to the photo's own sharpness.
    """
    if lightness.ndim != 2 or ab.shape != (*lightness.shape, 2):
        raise ValueError(f"lightness must be (H, W) and ab (H, W, 2), got {lightness.shape} and {ab.shape}")
    if min(lightness.shape) < 3:
        raise ValueError(f"edge sharpness needs at least 3×3 pixels, got {lightness.shape}")
    l_gradient = _gradient_magnitude(lightness[..., None].astype(np.float64)).ravel()
    ab_gradient = _gradient_magnitude(ab.astype(np.float64)).ravel()
    order = np.argsort(l_gradient)
    edges = order[-max(1, int(EDGE_SHARE * order.size)):]
    flat = order[:max(1, int(FLAT_SHARE * order.size))]
    floor = CHROMA_GRADIENT_FLOOR
    return float((ab_gradient[edges].mean() + floor) / (ab_gradient[flat].mean() + floor))
