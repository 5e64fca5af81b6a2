"""A degradation model of old photographic prints, applied to the lightness L.

Most photos that people want to colorize are old prints: faded and low in
contrast, toned (sepia, selenium) and then scanned to gray, soft, grainy,
dusty and scratched, vignetted by old lenses, sometimes printed as halftone
and saved as heavy JPEG. A colorizer trained only on clean modern photos sees
none of this, reads such a print as something else and loses its colour.
Training on prints made this way (and evaluating on a degraded copy of the
held-out photos) closes that gap; the target chroma stays the clean photo's.

Every step is a pure function of L (B, 1, H, W) in [0, 100] and of draws
from a CPU generator, so a seed gives the same prints on any device. The
strengths are drawn per image; the order follows how a print ages and is
scanned: tone curve and fading, soft focus, vignetting, halftone screen,
film grain, dust and scratches, and last the JPEG of the scan.
"""

from __future__ import annotations

import io
import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

# Ranges of each step's strength, drawn uniformly per image (at 224 px; blur,
# dust and scratch sizes scale with the image's side).
GAMMA_RANGE = (0.7, 1.45)  # tone curve of a toned print reduced to gray
BLACK_LIFT = (0.0, 28.0)  # L of the faded blacks
WHITE_DROP = (0.0, 25.0)  # how far below 100 the yellowed whites sit
BLUR_SIGMA = (0.0, 1.6)  # soft focus, px at 224
VIGNETTE = (0.0, 0.45)  # darkening at the corners, as a fraction of L
HALFTONE_PROBABILITY = 0.1
HALFTONE_PERIOD = (2.5, 4.5)  # px at 224
HALFTONE_AMPLITUDE = (3.0, 9.0)  # L units
GRAIN_STD = (0.0, 6.0)  # L units
MAX_DUST = 14  # spots per image, at most
SCRATCH_PROBABILITY = 0.35  # of a print having scratches at all
MAX_SCRATCHES = 2
SCRATCH_OPACITY = (0.3, 0.8)
JPEG_QUALITY = (15, 75)
REFERENCE_SIDE = 224


def _uniform(generator: torch.Generator | None, batch: int, bounds: tuple[float, float]) -> torch.Tensor:
    low, high = bounds
    return low + (high - low) * torch.rand(batch, generator=generator)


def _gaussian_blur(lightness: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian blur with one sigma per image: L (B, 1, H, W), sigma (B,) px."""
    radius = max(1, math.ceil(3 * float(sigma.max())))
    taps = torch.arange(-radius, radius + 1, dtype=torch.float32)
    width = sigma.clamp_min(1e-3)[:, None]
    kernel = torch.exp(-0.5 * (taps[None] / width) ** 2)
    kernel = (kernel / kernel.sum(1, keepdim=True)).to(lightness)  # (B, 2r + 1)
    batch = lightness.shape[0]
    # One group per image: each image is blurred with its own kernel.
    rows = lightness.transpose(0, 1)  # (1, B, H, W)
    padded = F.pad(rows, (radius, radius, 0, 0), mode="replicate")
    rows = F.conv2d(padded, kernel.view(batch, 1, 1, -1), groups=batch)
    padded = F.pad(rows, (0, 0, radius, radius), mode="replicate")
    rows = F.conv2d(padded, kernel.view(batch, 1, -1, 1), groups=batch)
    return rows.transpose(0, 1)


def _jpeg(lightness: torch.Tensor, quality: list[int], picked: list[bool]) -> torch.Tensor:
    """Each picked image through a gray JPEG at its own quality (Pillow), as a scan is saved."""
    out = lightness.clone()
    for index, level in enumerate(quality):
        if not picked[index]:
            continue
        pixels = (lightness[index, 0] * 2.55).round().clamp(0, 255).to(torch.uint8).cpu().numpy()
        buffer = io.BytesIO()
        Image.fromarray(pixels, "L").save(buffer, "JPEG", quality=int(level))
        buffer.seek(0)
        with Image.open(buffer) as decoded:
            back = np.asarray(decoded.convert("L"), dtype=np.float32)
        out[index, 0] = torch.from_numpy(back / 2.55).to(out)
    return out


def old_print(lightness: torch.Tensor, generator: torch.Generator | None = None,
              probability: float = 1.0) -> torch.Tensor:
    """L (B, 1, H, W) in [0, 100] → the same photos as scanned old prints, L in [0, 100].

    Each image is degraded with ``probability`` (the others are returned as
    they are), with strengths drawn from ``generator`` (CPU) per image; see
    the module docstring for the steps. A new tensor; the input is untouched.
    """
    if lightness.dim() != 4 or lightness.shape[1] != 1:
        raise ValueError(f"lightness must be (B, 1, H, W), got {tuple(lightness.shape)}")
    if not 0.0 <= probability <= 1.0:
        raise ValueError(f"probability must be in [0, 1], got {probability}")
    batch, _, height, width = lightness.shape
    picked = torch.rand(batch, generator=generator) < probability
    # Every draw is made whether or not an image is picked, so that one image's
    # print does not depend on which others in the batch were picked.
    gamma = _uniform(generator, batch, GAMMA_RANGE)
    lift = _uniform(generator, batch, BLACK_LIFT)
    drop = _uniform(generator, batch, WHITE_DROP)
    scale = min(height, width) / REFERENCE_SIDE
    sigma = _uniform(generator, batch, BLUR_SIGMA) * scale
    vignette = _uniform(generator, batch, VIGNETTE)
    halftone = torch.rand(batch, generator=generator) < HALFTONE_PROBABILITY
    period = _uniform(generator, batch, HALFTONE_PERIOD) * scale
    amplitude = _uniform(generator, batch, HALFTONE_AMPLITUDE)
    angle = torch.rand(batch, generator=generator) * math.pi / 2
    grain = _uniform(generator, batch, GRAIN_STD)
    grain_noise = torch.randn(batch, 1, height, width, generator=generator)
    coarse = torch.rand(batch, generator=generator) < 0.5
    dust_count = torch.randint(0, MAX_DUST + 1, (batch,), generator=generator)
    dust_place = torch.rand(batch, MAX_DUST, 2, generator=generator)
    dust_radius = (0.6 + 1.8 * torch.rand(batch, MAX_DUST, generator=generator)) * scale
    dust_bright = torch.rand(batch, MAX_DUST, generator=generator) < 0.7
    scratch_count = torch.randint(1, MAX_SCRATCHES + 1, (batch,), generator=generator)
    scratch_count *= torch.rand(batch, generator=generator) < SCRATCH_PROBABILITY
    scratch_opacity = _uniform(generator, batch, SCRATCH_OPACITY)
    scratch_place = torch.rand(batch, MAX_SCRATCHES, 2, generator=generator)
    scratch_angle = (torch.rand(batch, MAX_SCRATCHES, generator=generator) - 0.5) * 0.6 + math.pi / 2
    quality = torch.randint(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1, (batch,), generator=generator)

    device, dtype = lightness.device, lightness.dtype

    def per_image(values: torch.Tensor) -> torch.Tensor:
        return values.to(device=device, dtype=dtype).view(batch, 1, 1, 1)

    # 1. Tone: a toned print's curve, then faded blacks and dimmed whites.
    x = 100.0 * (lightness.clamp(0, 100) / 100.0) ** per_image(gamma)
    x = per_image(lift) + (100.0 - per_image(drop) - per_image(lift)) * x / 100.0
    # 2. Soft focus.
    x = _gaussian_blur(x, sigma.to(device))
    # 3. Vignetting: darker towards the corners.
    ys = torch.linspace(-1, 1, height, device=device, dtype=dtype).view(1, 1, -1, 1)
    xs = torch.linspace(-1, 1, width, device=device, dtype=dtype).view(1, 1, 1, -1)
    x = x * (1 - per_image(vignette) * (xs**2 + ys**2) / 2)
    # 4. Halftone: a rotated dot screen on a share of the prints.
    rows = torch.arange(height, device=device, dtype=dtype).view(1, 1, -1, 1)
    cols = torch.arange(width, device=device, dtype=dtype).view(1, 1, 1, -1)
    cos, sin = per_image(angle.cos()), per_image(angle.sin())
    u, v = (cols * cos + rows * sin) / per_image(period), (rows * cos - cols * sin) / per_image(period)
    screen = torch.cos(2 * math.pi * u) * torch.cos(2 * math.pi * v)
    x = x + per_image(halftone.float() * amplitude) * screen
    # 5. Grain, fine or (blurred) coarse.
    noise = grain_noise.to(device=device, dtype=dtype)
    blurred = _gaussian_blur(noise, torch.full((batch,), 0.8 * scale)) * 2.0
    noise = torch.where(per_image(coarse.float()) > 0, blurred, noise)
    x = x + per_image(grain) * noise
    # 6. Dust (bright or dark spots) and long thin bright scratches.
    grid_y, grid_x = rows / max(height - 1, 1), cols / max(width - 1, 1)
    side = float(max(height, width))
    for index in range(batch):
        if not picked[index]:
            continue
        for spot in range(int(dust_count[index])):
            cy, cx = dust_place[index, spot].tolist()
            distance = torch.sqrt((grid_y[0] - cy) ** 2 + (grid_x[0] - cx) ** 2) * side
            inside = (distance < float(dust_radius[index, spot]))[0]
            x[index, 0][inside] = 96.0 if bool(dust_bright[index, spot]) else 8.0
        for line in range(int(scratch_count[index])):
            cy, cx = scratch_place[index, line].tolist()
            theta = float(scratch_angle[index, line])
            distance = ((grid_x[0] - cx) * math.sin(theta) - (grid_y[0] - cy) * math.cos(theta)).abs() * side
            line_mask = (distance < 0.7 * scale)[0]
            opacity = float(scratch_opacity[index])
            x[index, 0][line_mask] = (1 - opacity) * x[index, 0][line_mask] + opacity * 92.0
    x = x.clamp(0, 100)
    # 7. The scan saved as JPEG.
    x = _jpeg(x, quality.tolist(), picked.tolist())
    picked = picked.to(device).view(batch, 1, 1, 1)
    return torch.where(picked, x, lightness)
