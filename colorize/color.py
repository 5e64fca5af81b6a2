"""Colour-space conversions, normalisation and quantization (pure functions).

The colorizer works in CIE Lab (D65, 2° observer): the lightness L is given
(the gray input) and only the chroma ab is predicted (PixColor, Guadarrama et
al. 2017, Sec. 3). The Lab conversion itself is kornia's, a translation of
scikit-image's ``rgb2lab``/``lab2rgb``; this module adds input checks, the
normalisation constants, and the quantizers that turn pixels into the class
indices the autoregressive models predict.

All constants below are defined here once; every other module imports them.
"""

from __future__ import annotations

import kornia.color
import torch

# L in [0, 100] -> (L - L_CENTER) / L_SCALE in [-1, 1], the network input range.
L_CENTER = 50.0
L_SCALE = 50.0

# ab -> ab / AB_SCALE, roughly [-1, 1] for in-gamut sRGB colours.
AB_SCALE = 110.0

# Fixed quantization range for ab: 220 units wide, 32 bins of 6.875. The sRGB
# gamut spans about a in [-86, 98] and b in [-108, 95]. The range is shifted
# by half a bin from [-110, 110] so that ab = 0 is the *centre* of bin 16:
# neutral gray is then exactly representable, instead of being rounded to a
# faint tint on either side of a bin edge. Values outside the range (only
# reachable from out-of-gamut Lab) are clamped into the first or last bin
# rather than rejected, because quantization is applied to model outputs too.
AB_MIN = -113.4375
AB_MAX = 106.5625
# 32 bins per channel as in PixColor (Sec. 3.2).
NUM_AB_BINS = 32

# 8-bit RGB, the classes of the PixelRNN/PixelCNN baselines.
NUM_RGB_CLASSES = 256

# CIE Lab (D65) and sRGB, with kornia.color's constants. The conversions
# below are kornia's; the full-resolution join computes the same formulas
# in its own fused loops (colorize.fullres, colorize.merge_kernel), from
# these constants, and is tested against kornia's results.
D65_WHITE = (0.95047, 1.0, 1.08883)
# CIE XYZ (D65) → linear sRGB.
XYZ_TO_LINEAR_RGB = (
    (3.2404813432005266, -1.5371515162713185, -0.4985363261688878),
    (-0.9692549499965682, 1.8759900014898907, 0.0415559265582928),
    (0.0556466391351772, -0.2040413383665112, 1.0573110696453443),
)
# Linear sRGB → Y, the middle row of the sRGB → XYZ matrix.
RGB_TO_LUMINANCE = (0.212671, 0.715160, 0.072169)
# The sRGB transfer curve: linear below the knee, a 2.4 power above it.
SRGB_DECODE_KNEE = 0.04045  # encoded
SRGB_ENCODE_KNEE = 0.0031308  # linear
SRGB_LINEAR_SLOPE = 12.92
SRGB_OFFSET = 0.055
SRGB_SCALE = 1.055
SRGB_GAMMA = 2.4
# Lab's f(t): a cube root above LAB_EPSILON, linear below; f⁻¹ switches at LAB_F_KNEE = f(LAB_EPSILON).
LAB_EPSILON = 0.008856
LAB_F_KNEE = 0.2068966
LAB_LINEAR_SLOPE = 7.787
LAB_LINEAR_OFFSET = 4.0 / 29.0
# L = 116 f(Y) − 16, a = 500 (f(X) − f(Y)), b = 200 (f(Y) − f(Z)).
LAB_L_SCALE = 116.0
LAB_L_OFFSET = 16.0
LAB_A_SCALE = 500.0
LAB_B_SCALE = 200.0


def _check_image(x: torch.Tensor, name: str, channels: int) -> None:
    """Raise unless ``x`` is a floating tensor of shape (..., channels, H, W)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() < 3 or x.shape[-3] != channels:
        raise ValueError(
            f"{name} must have shape (..., {channels}, H, W), got {tuple(x.shape)}"
        )
    if not x.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")


def _check_float(x: torch.Tensor, name: str) -> None:
    """Raise unless ``x`` is a floating tensor without NaNs."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if torch.isnan(x).any():
        raise ValueError(f"{name} contains NaN")


def _check_classes(classes: torch.Tensor, num_classes: int, name: str) -> None:
    """Raise unless ``classes`` is an integer tensor with values in [0, num_classes)."""
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an int >= 2, got {num_classes!r}")
    if not isinstance(classes, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(classes).__name__}")
    if classes.is_floating_point() or classes.is_complex() or classes.dtype == torch.bool:
        raise ValueError(f"{name} must be an integer tensor, got dtype {classes.dtype}")
    if classes.numel() and (classes.min() < 0 or classes.max() >= num_classes):
        raise ValueError(
            f"{name} must lie in [0, {num_classes}), got range "
            f"[{int(classes.min())}, {int(classes.max())}]"
        )


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1] -> CIE Lab (D65).

    Args:
        rgb: (..., 3, H, W) float, sRGB (gamma-encoded) in [0, 1].
    Returns:
        (..., 3, H, W) same dtype: L in [0, 100], a and b roughly in [-128, 127].
    """
    _check_image(rgb, "rgb", 3)
    return kornia.color.rgb_to_lab(rgb)


def lab_to_rgb(lab: torch.Tensor, clip: bool = True) -> torch.Tensor:
    """CIE Lab (D65) -> sRGB.

    Args:
        lab: (..., 3, H, W) float, L in [0, 100], ab in about [-128, 127].
        clip: clamp the result to [0, 1]; out-of-gamut Lab maps outside it.
    Returns:
        (..., 3, H, W) same dtype, sRGB (in [0, 1] when ``clip``).
    """
    _check_image(lab, "lab", 3)
    return kornia.color.lab_to_rgb(lab, clip=clip)


def lab_from(lightness: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """Join L and ab into Lab, L repeated for each of an image's samples.

    Args:
        lightness: (B, 1, H, W) L in [0, 100], or (1, H, W).
        ab: (B·N, 2, H, W), N samples per image, image-major; or (2, H, W).
    Returns:
        (B·N, 3, H, W) Lab, or (3, H, W).
    """
    if lightness.dim() == 3:
        return torch.cat([lightness, ab], dim=0)
    if ab.shape[0] % lightness.shape[0]:
        raise ValueError(f"ab's batch ({ab.shape[0]}) must be a multiple of L's ({lightness.shape[0]})")
    repeats = ab.shape[0] // lightness.shape[0]
    if lightness.shape[0] == 1:
        lightness = lightness.expand(repeats, -1, -1, -1)
    elif repeats > 1:
        lightness = lightness.repeat_interleave(repeats, dim=0)
    return torch.cat([lightness, ab], dim=1)


def rgb_from(lightness: torch.Tensor, ab: torch.Tensor, clip: bool = True) -> torch.Tensor:
    """``lab_to_rgb(lab_from(lightness, ab))``: sRGB (B·N, 3, H, W), or (3, H, W)."""
    return lab_to_rgb(lab_from(lightness, ab), clip=clip)


def gray_rgb(lightness: torch.Tensor) -> torch.Tensor:
    """L (..., 1, H, W) → the sRGB gray (..., 3, H, W) it stands for: L with a = b = 0."""
    zeros = torch.zeros_like(lightness)
    return lab_to_rgb(torch.cat([lightness, zeros, zeros], dim=-3))


def rgb_to_gray(rgb: torch.Tensor) -> torch.Tensor:
    """The lightness L of an sRGB image: what the colorizer sees as "gray".

    Args:
        rgb: (..., 3, H, W) float sRGB in [0, 1].
    Returns:
        (..., 1, H, W) L in [0, 100] (not normalised; see ``normalize_l``).
    """
    return rgb_to_lab(rgb)[..., :1, :, :]


def normalize_l(lightness: torch.Tensor) -> torch.Tensor:
    """L in [0, 100] -> [-1, 1]. Any shape."""
    return (lightness - L_CENTER) / L_SCALE


def denormalize_l(lightness_norm: torch.Tensor) -> torch.Tensor:
    """Inverse of ``normalize_l``: [-1, 1] -> L in [0, 100]. Any shape."""
    return lightness_norm * L_SCALE + L_CENTER


def normalize_ab(ab: torch.Tensor) -> torch.Tensor:
    """ab -> ab / AB_SCALE, about [-1, 1] in gamut. Any shape."""
    return ab / AB_SCALE


def denormalize_ab(ab_norm: torch.Tensor) -> torch.Tensor:
    """Inverse of ``normalize_ab``. Any shape."""
    return ab_norm * AB_SCALE


def quantize_ab(ab: torch.Tensor, num_bins: int = NUM_AB_BINS) -> torch.Tensor:
    """ab values -> bin indices of a uniform grid over [AB_MIN, AB_MAX].

    Values outside the range are clamped into the end bins.

    Args:
        ab: any shape, float (typically (..., 2, H, W)).
        num_bins: bins per channel, >= 2.
    Returns:
        int64, same shape, values in [0, num_bins).
    """
    if not isinstance(num_bins, int) or num_bins < 2:
        raise ValueError(f"num_bins must be an int >= 2, got {num_bins!r}")
    _check_float(ab, "ab")
    width = (AB_MAX - AB_MIN) / num_bins
    bins = torch.floor((ab - AB_MIN) / width)
    return bins.clamp(0, num_bins - 1).long()


def dequantize_ab(bins: torch.Tensor, num_bins: int = NUM_AB_BINS) -> torch.Tensor:
    """Bin indices -> bin centres in ab units (inverse of ``quantize_ab`` up to
    half a bin width inside [AB_MIN, AB_MAX]).

    Args:
        bins: any shape, integer, values in [0, num_bins).
        num_bins: bins per channel, >= 2.
    Returns:
        float32, same shape.
    """
    _check_classes(bins, num_bins, "bins")
    width = (AB_MAX - AB_MIN) / num_bins
    return AB_MIN + (bins.float() + 0.5) * width


def quantize_rgb(rgb: torch.Tensor, num_classes: int = NUM_RGB_CLASSES) -> torch.Tensor:
    """sRGB in [0, 1] -> integer levels round(rgb * (K - 1)).

    With K = 256 this recovers the 8-bit values exactly from ``v / 255``.

    Args:
        rgb: any shape, float in [0, 1] (out-of-range values are an error, not
            clamped, since they mean a caller forgot to scale).
        num_classes: K >= 2.
    Returns:
        int64, same shape, values in [0, K).
    """
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an int >= 2, got {num_classes!r}")
    _check_float(rgb, "rgb")
    if rgb.numel() and (rgb.min() < 0 or rgb.max() > 1):
        raise ValueError(
            f"rgb must lie in [0, 1], got range [{float(rgb.min())}, {float(rgb.max())}]"
        )
    return torch.round(rgb * (num_classes - 1)).long()


def dequantize_rgb(classes: torch.Tensor, num_classes: int = NUM_RGB_CLASSES) -> torch.Tensor:
    """Integer levels -> sRGB in [0, 1], ``classes / (K - 1)``.

    Args:
        classes: any shape, integer in [0, K).
        num_classes: K >= 2.
    Returns:
        float32, same shape, in [0, 1].
    """
    _check_classes(classes, num_classes, "classes")
    return classes.float() / (num_classes - 1)


def classes_to_unit(classes: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Class indices -> model input in [-1, 1]: ``classes * 2 / (K - 1) - 1``.

    This is the input contract of every autoregressive model: they predict
    classes but read their own past outputs as floats in [-1, 1].

    Args:
        classes: any shape, integer in [0, K), e.g. (B, C, H, W).
        num_classes: K >= 2.
    Returns:
        float32, same shape, in [-1, 1].
    """
    _check_classes(classes, num_classes, "classes")
    return classes.float() * (2.0 / (num_classes - 1)) - 1.0
