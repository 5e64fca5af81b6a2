"""Where is the colour unsure? The spread of a photo's samples, and where a hint would settle most.

The samples of one photo agree where the gray image says what colour a thing
is (skin, sky, grass) and differ where it does not (a shirt, a car, a wall):
the decoder draws each from its own distribution, so their spread is a
direct, model-agnostic measure of its uncertainty. No colorizer we know of
shows it.

:func:`colour_spread` turns N samples into a map: at each pixel, the root
mean square distance in ab (CIE Lab chroma units) of the samples from their
mean, computed at a reduced size (``SPREAD_SIDE`` on the longer side) so that
it costs little at any photo size. :func:`suggest_hints` picks the points a
hint should go to: the peaks of the spread, smoothed over about an object
part, each at least ``min_distance`` from the others, so that the few hints
a user places go to different uncertain regions rather than one.
:func:`spread_overlay` draws the map over the gray photo for a person to see.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import kornia.filters
import numpy as np
import torch
from PIL import Image, ImageDraw

from colorize.color import rgb_to_lab

# The map's longer side: the decoder's chroma is 28×28 and the refinement's
# 224×224, so nothing the samples disagree on is finer than this.
SPREAD_SIDE = 224
# The Gaussian smoothing before peaks are picked (its sigma), as a fraction of the map's
# longer side: about an object part, so that a peak lies inside a region, not on its edge.
SMOOTHING = 1 / 12
# Suggestions at least this far apart, as a fraction of the photo's longer side.
MIN_DISTANCE = 0.2
DEFAULT_SUGGESTIONS = 4
MAX_SUGGESTIONS = 16
# The overlay's colour for the most uncertain pixels; below SURE_SPREAD (ab units: samples
# within a just noticeable hue shift of each other) nothing is drawn, from FULL_SPREAD on
# the colour is at full strength.
OVERLAY_RGB = (255, 40, 160)
SURE_SPREAD = 8.0
FULL_SPREAD = 24.0


def map_size(width: int, height: int, side: int) -> tuple[int, int]:
    """(width, height) shrunk so that the longer side is at most ``side``, the aspect kept."""
    scale = min(1.0, side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def small_lab(image: Image.Image, side: int) -> torch.Tensor:
    """An RGB PIL image → its Lab (3, h, w), resized so that its longer side is at most ``side``."""
    size = map_size(*image.size, side)
    # Resized before any conversion: a full-size copy of a 50-megapixel sample would take 150 MB.
    small = image.resize(size, Image.Resampling.BILINEAR) if size != image.size else image
    small = small.convert("RGB")
    rgb = torch.from_numpy(np.asarray(small, dtype=np.float32) / 255.0).permute(2, 0, 1)
    return rgb_to_lab(rgb)


class SpreadAccumulator:
    """The spread of samples added one at a time (a batch writes each and lets it go): the sums
    of their ab and |ab|² at the map's size, so the memory is two small maps whatever N is."""

    def __init__(self, side: int = SPREAD_SIDE):
        self.side, self.count, self.size = side, 0, None
        self.total: torch.Tensor | None = None
        self.squares: torch.Tensor | None = None

    def add(self, image: Image.Image) -> None:
        if self.size is not None and image.size != self.size:
            raise ValueError(f"the samples must share one size, got {self.size} and {image.size}")
        ab = small_lab(image, self.side)[1:].double()  # (2, h, w); double: a difference of sums follows
        if self.total is None:
            self.size, self.total, self.squares = image.size, torch.zeros_like(ab), torch.zeros_like(ab[0])
        self.total += ab
        self.squares += ab.square().sum(0)
        self.count += 1

    def spread_size(self) -> tuple[int, int]:
        """(width, height) of the map: the samples' size, shrunk to ``side`` on the longer side."""
        return map_size(*self.size, self.side)

    def spread(self) -> np.ndarray:
        """float32 (h, w): sqrt(mean over samples of |ab_n − mean ab|²), in ab units."""
        if self.count < 2:
            raise ValueError(f"the spread needs at least 2 samples, got {self.count}")
        mean = self.total / self.count
        variance = self.squares / self.count - mean.square().sum(0)
        return variance.clamp(min=0).sqrt().float().numpy()


def spread_backdrop(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """A sample (any size) → its lightness as 8-bit gray at the map's ``size``: the overlay's backdrop
    (every sample has the photo's own lightness)."""
    return image.resize(size, Image.Resampling.BILINEAR).convert("L")


def colour_spread(samples: Sequence[Image.Image], side: int = SPREAD_SIDE) -> np.ndarray:
    """N ≥ 2 colorizations of one photo (PIL images of one size) → the spread of their chroma,
    float32 (h, w) in ab units, at most ``side`` pixels on the longer side.

    At each pixel: sqrt(mean over samples of |ab_n − mean ab|²). 0 where every
    sample has the same colour; about 20–40 where they disagree on the hue.
    """
    accumulator = SpreadAccumulator(side)
    for image in samples:
        accumulator.add(image)
    return accumulator.spread()


def suggest_hints(spread: np.ndarray, width: int, height: int, count: int = DEFAULT_SUGGESTIONS,
                  min_distance: float = MIN_DISTANCE) -> list[tuple[int, int]]:
    """The ``count`` points (x, y) of a ``width`` × ``height`` photo where a hint would settle the
    most colour: the highest peaks of the smoothed spread (h, w), each at least ``min_distance``
    × the photo's longer side from those picked before, most uncertain first.

    Fewer come back when the photo has no room for more; none where the samples all agree.
    """
    if not 1 <= count <= MAX_SUGGESTIONS:
        raise ValueError(f"count must be in [1, {MAX_SUGGESTIONS}], got {count}")
    rows, cols = spread.shape
    # A peak is a region the samples disagree on, not a pixel; zero padding keeps it off the border.
    sigma = SMOOTHING * max(rows, cols)
    kernel = 2 * math.ceil(3 * sigma) + 1
    smooth = kornia.filters.gaussian_blur2d(
        torch.from_numpy(np.ascontiguousarray(spread, dtype=np.float32))[None, None], (kernel, kernel),
        (sigma, sigma), border_type="constant")[0, 0].numpy()
    scale_x, scale_y = width / cols, height / rows
    radius = min_distance * max(width, height)
    yy, xx = np.mgrid[0:rows, 0:cols]
    points: list[tuple[int, int]] = []
    free = smooth.copy()
    for _ in range(count):
        index = int(np.argmax(free))
        if free.flat[index] <= 0:
            break
        row, col = divmod(index, cols)
        x = min(width - 1, int((col + 0.5) * scale_x))
        y = min(height - 1, int((row + 0.5) * scale_y))
        points.append((x, y))
        # Shut the disc around the pick (in the photo's own pixels, so it is round in any aspect).
        near = ((xx - col) * scale_x) ** 2 + ((yy - row) * scale_y) ** 2 < radius ** 2
        free[near] = -1.0
    return points


def spread_overlay(gray: Image.Image, spread: np.ndarray, points: Sequence[tuple[int, int]] = ()) -> Image.Image:
    """The photo in gray with the spread drawn over it in ``OVERLAY_RGB`` (none below
    ``SURE_SPREAD`` ab units, full strength from ``FULL_SPREAD``) and the suggested ``points``
    ((x, y) in the map's pixels) ringed, at the map's size."""
    rows, cols = spread.shape
    base = np.asarray(gray.convert("L").resize((cols, rows), Image.Resampling.BILINEAR), dtype=np.float32)
    strength = np.clip((spread - SURE_SPREAD) / (FULL_SPREAD - SURE_SPREAD), 0.0, 1.0)[..., None] * 0.75
    rgb = base[..., None] * (1 - strength) + np.asarray(OVERLAY_RGB, dtype=np.float32) * strength
    overlay = Image.fromarray(rgb.round().astype(np.uint8))
    if points:
        draw = ImageDraw.Draw(overlay)
        scale_x, scale_y = cols / gray.width, rows / gray.height
        ring = max(3, round(0.03 * max(rows, cols)))
        for x, y in points:
            cx, cy = (x + 0.5) * scale_x, (y + 0.5) * scale_y
            draw.ellipse((cx - ring, cy - ring, cx + ring, cy + ring), outline=(255, 255, 255), width=2)
            draw.ellipse((cx - ring - 2, cy - ring - 2, cx + ring + 2, cy + ring + 2), outline=(0, 0, 0), width=1)
    return overlay
