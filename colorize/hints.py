"""Colour hints: a few points whose colour the user fixes, as a map the networks read.

Zhang et al. 2017 ("Real-Time User-Guided Image Colorization with Learned
Deep Priors", Sec. 3.1 and 3.2) give the network a sparse map of ab values
plus a mask of where they hold, and train it on hints simulated from the
ground truth: a geometric number of points, each a small square patch filled
with the patch's mean colour. Here the same map conditions the PixelCNN (as a
28×28 summary, :func:`cell_hints`) and the refinement network (at the working
resolution), and the sampler takes each hinted cell's bins as observed values
(:func:`hinted_bins`), so the hints steer every sample while the PixelCNN
still draws all that the hints leave open.

A hint map is (B, 3, S, S) at the working resolution S: channels a and b in
network units (ab / AB_SCALE, zero where there is no hint) and the mask
(1 at a hint). An all-zero map means "no hints"; the hint inputs have no
bias, so it gives exactly the model without hints.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from colorize.color import denormalize_ab, normalize_ab, quantize_ab, rgb_to_lab
from colorize.limits import MAX_HINTS_DEPTH, MAX_HINTS_FILE_BYTES, check_hint_count

HINT_CHANNELS = 3  # a, b (network units, masked) and the mask
# Training hints (Zhang et al. 2017, Sec. 3.2): P(no hints), the geometric
# distribution's p for the number of points, the largest patch side in pixels.
NO_HINT_PROBABILITY = 0.25
POINTS_P = 1 / 8
MAX_PATCH_SIDE = 9
MAX_POINTS = 64  # a cap far in the geometric tail (P(n > 64) ≈ 2e-4), for a bounded step
# A user's point covers this square patch at the working resolution, the
# middle of the sides training drew (1–9 px at 224: about 2 % of the side).
USER_PATCH_SIDE = 5

Hint = tuple[float, float, object]  # (x, y, colour): a column and row of the photo, a colour


def empty_hint_map(batch: int, size: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """No hints: zeros (B, 3, S, S)."""
    return torch.zeros(batch, HINT_CHANNELS, size, size, device=device)


def paint_patch(hint_map: torch.Tensor, index: int, rows: slice, cols: slice, ab: torch.Tensor) -> None:
    """Write one hint, ab (2,) in Lab units, into the patch ``rows`` × ``cols`` of map ``index``."""
    hint_map[index, :2, rows, cols] = normalize_ab(ab).to(hint_map.dtype)[:, None, None]
    hint_map[index, 2, rows, cols] = 1.0


def simulate_hints(ab: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Hints drawn from ground-truth chroma ab (B, 2, S, S) in Lab units → hint map (B, 3, S, S).

    As Zhang et al. 2017 (Sec. 3.2) simulate a user: with probability
    ``NO_HINT_PROBABILITY`` none; else a geometric number of points (p =
    ``POINTS_P``, at least 1), each a square patch of side 1–``MAX_PATCH_SIDE``
    px at a uniform place, filled with the patch's mean colour. Draws come
    from ``generator`` (on the CPU), so they are the same on any device.
    """
    if ab.dim() != 4 or ab.shape[1] != 2:
        raise ValueError(f"ab must be (B, 2, S, S), got {tuple(ab.shape)}")
    batch, _, height, width = ab.shape
    hint_map = torch.zeros(batch, HINT_CHANNELS, height, width, device=ab.device)
    uniform = torch.rand(batch, 2, generator=generator)
    for index in range(batch):
        if uniform[index, 0] < NO_HINT_PROBABILITY:
            continue
        # Inverse CDF of the geometric distribution on {1, 2, ...}.
        count = 1 + int(math.log1p(-float(uniform[index, 1])) / math.log1p(-POINTS_P))
        count = min(count, MAX_POINTS)
        sides = torch.randint(1, MAX_PATCH_SIDE + 1, (count,), generator=generator)
        places = torch.rand(count, 2, generator=generator)
        for side, (u, v) in zip(sides.tolist(), places.tolist()):
            top, left = int(u * (height - side + 1)), int(v * (width - side + 1))
            rows, cols = slice(top, top + side), slice(left, left + side)
            paint_patch(hint_map, index, rows, cols, ab[index, :, rows, cols].mean(dim=(1, 2)))
    return hint_map


# Training the hint refinement (:meth:`PixColor.add_hint_refinement`): a
# sampled 28×28 chroma often gets an object's colour wrong, which the
# ground truth's own bins never do. The perturbation turns chroma by an angle
# and scales it by a factor that vary smoothly over the crop (a PERTURB_GRID
# grid of draws, upsampled), centred on no change, so that the network sees
# colour that disagrees with the hints and learns to follow the hints while
# it keeps the given chroma where nothing contradicts it.
PERTURB_GRID = 3
PERTURB_ANGLE_STD = 1.0  # radians
PERTURB_LOG_SCALE_STD = 0.3


def perturb_chroma(ab_low: torch.Tensor, hint_map: torch.Tensor, probability: float,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Low-res chroma ab (B, 2, h, w) in Lab units → the same with, in each crop that has
    hints and is picked with ``probability``, a smooth random turn and scaling of ab.

    The draws come from ``generator`` on the CPU, like :func:`simulate_hints`.
    The hinted cells themselves are left to the caller (the sampler fixes them).
    """
    if ab_low.dim() != 4 or ab_low.shape[1] != 2 or hint_map.shape[0] != ab_low.shape[0]:
        raise ValueError(f"ab_low must be (B, 2, h, w) with one hint map per crop, got "
                         f"{tuple(ab_low.shape)} and {tuple(hint_map.shape)}")
    if not 0 <= probability <= 1:
        raise ValueError(f"probability must be in [0, 1], got {probability}")
    batch = ab_low.shape[0]
    picked = torch.rand(batch, generator=generator) < probability
    grid = (batch, 2, PERTURB_GRID, PERTURB_GRID)
    draws = torch.randn(grid, generator=generator)
    fields = F.interpolate(draws, size=ab_low.shape[-2:], mode="bilinear", align_corners=True)
    fields = fields.to(ab_low.device)
    angle = fields[:, :1] * PERTURB_ANGLE_STD
    scale = torch.exp(fields[:, 1:] * PERTURB_LOG_SCALE_STD)
    a, b = ab_low[:, :1], ab_low[:, 1:]
    turned = scale * torch.cat([a * angle.cos() - b * angle.sin(), a * angle.sin() + b * angle.cos()], 1)
    chosen = (picked & has_hints(hint_map).cpu()).to(ab_low.device)[:, None, None, None]
    return torch.where(chosen, turned, ab_low)


def has_hints(hint_map: torch.Tensor) -> torch.Tensor:
    """Hint map (B, 3, S, S) → bool (B,): whether each image has at least one hint."""
    return hint_map[:, 2].flatten(1).amax(1) > 0


def cell_hints(hint_map: torch.Tensor, cells: int) -> torch.Tensor:
    """Hint map (B, 3, S, S) → the same map per cell of a cells × cells grid (B, 3, cells, cells).

    A cell's mask is 1 if any hint touches it, its ab the mean over the hint
    pixels in it. A plain average would dilute a 1-px hint 64-fold in an 8×8
    cell, so that the decoder could barely tell it from none.
    """
    size = hint_map.shape[-1]
    if hint_map.dim() != 4 or hint_map.shape[1] != HINT_CHANNELS or size % cells:
        raise ValueError(f"hint map must be (B, {HINT_CHANNELS}, S, S) with S divisible by {cells}, "
                         f"got {tuple(hint_map.shape)}")
    pooled = F.avg_pool2d(hint_map, size // cells)
    covered = pooled[:, 2:]
    ab = pooled[:, :2] / covered.clamp_min(1e-6)
    return torch.cat([ab * (covered > 0), (covered > 0).to(hint_map.dtype)], dim=1)


def hinted_bins(hint_map: torch.Tensor, cells: int) -> torch.Tensor:
    """Hint map (B, 3, S, S) → the ab bins (B, 2, cells, cells) of every hinted cell, −1 elsewhere.

    The sampler takes these values as observed instead of drawing them
    (``fixed`` of :func:`colorize.sampling.sample`): the chroma at a hint is
    the hint's, and what follows it in raster order is drawn given it.
    """
    summary = cell_hints(hint_map, cells)
    bins = quantize_ab(denormalize_ab(summary[:, :2]))
    return torch.where(summary[:, 2:] > 0, bins, torch.full_like(bins, -1))


def parse_colour(colour: object) -> tuple[int, int, int]:
    """"#rrggbb" or (r, g, b) with ints in 0–255 → (r, g, b); anything else is a ValueError."""
    if isinstance(colour, str):
        match = re.fullmatch(r"#?([0-9a-fA-F]{6})", colour.strip())
        if not match:
            raise ValueError(f"a hint colour must be '#rrggbb' or (r, g, b), got {colour!r}")
        digits = match.group(1)
        return tuple(int(digits[i:i + 2], 16) for i in (0, 2, 4))
    if (isinstance(colour, Sequence) and len(colour) == 3
            and all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 255 for c in colour)):
        return tuple(colour)
    raise ValueError(f"a hint colour must be '#rrggbb' or (r, g, b) with ints in 0–255, got {colour!r}")


def hint_ab(colour: object) -> torch.Tensor:
    """A hint's colour → its ab (2,) in Lab units; the output keeps the photo's own L there."""
    r, g, b = parse_colour(colour)
    rgb = torch.tensor([r, g, b], dtype=torch.float32).view(1, 3, 1, 1) / 255.0
    return rgb_to_lab(rgb)[0, 1:, 0, 0]


def check_hints(hints: Sequence[Hint] | None, width: int, height: int) -> list[tuple[float, float, torch.Tensor]]:
    """Validate user hints on a width × height photo → [(x, y, ab (2,))]; None or [] → [].

    ``x, y``: column and row in the photo's own pixels, 0 ≤ x < width, 0 ≤ y < height.
    """
    if hints is None:
        return []
    if isinstance(hints, (str, bytes)) or not isinstance(hints, Sequence):
        raise ValueError(f"hints must be a list of (x, y, colour), got {type(hints).__name__}")
    check_hint_count(len(hints))
    checked = []
    for number, hint in enumerate(hints):
        if isinstance(hint, (str, bytes)) or not isinstance(hint, Sequence) or len(hint) != 3:
            raise ValueError(f"hint {number} must be (x, y, colour), got {hint!r}")
        x, y, colour = hint
        for name, value, limit in (("x", x, width), ("y", y, height)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"hint {number}: {name} must be a number, got {value!r}")
            if not 0 <= value < limit:
                raise ValueError(f"hint {number}: ({x}, {y}) is outside the {width}×{height} photo")
        try:
            ab = hint_ab(colour)
        except ValueError as err:
            raise ValueError(f"hint {number}: {err}") from None
        checked.append((float(x), float(y), ab))
    return checked


def user_hint_map(hints: Sequence[Hint] | None, width: int, height: int, size: int,
                  device: torch.device | str = "cpu") -> torch.Tensor | None:
    """User hints on a width × height photo → hint map (1, 3, S, S) at the working size S; None if none.

    The photo is squashed to S × S for the networks, so a point maps to the
    working pixel under it; it marks a ``USER_PATCH_SIDE`` square there
    (clipped at the borders). Where patches overlap, the later hint wins.
    """
    checked = check_hints(hints, width, height)
    if not checked:
        return None
    hint_map = empty_hint_map(1, size, device)
    for x, y, ab in checked:
        column = min(int(x * size / width), size - 1)
        row = min(int(y * size / height), size - 1)
        half = USER_PATCH_SIDE // 2
        rows = slice(max(row - half, 0), min(row + half + 1, size))
        cols = slice(max(column - half, 0), min(column + half + 1, size))
        paint_patch(hint_map, 0, rows, cols, ab.to(hint_map.device))
    return hint_map


def read_hints_file(path: str | Path) -> dict[str, list[Hint]]:
    """A JSON file mapping photo names to hints, ``{"a/photo.jpg": [[x, y, "#rrggbb"], ...]}``
    → the same as a dict of lists of (x, y, colour) tuples.

    The file's shape and every colour are checked here, with the photo named in
    the error; whether a point lies inside its photo is checked once the photo
    is read (:func:`check_hints`).
    """
    path = Path(path)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise ValueError(f"the hints file {path} is not a regular file")
        with open(path, "rb") as file:
            raw = file.read(MAX_HINTS_FILE_BYTES + 1)  # bounded: /dev/zero or a huge file stops here
    except OSError as err:
        raise ValueError(f"cannot read the hints file {path}: {err.strerror or err}") from None
    if len(raw) > MAX_HINTS_FILE_BYTES:
        raise ValueError(f"the hints file {path} is larger than {MAX_HINTS_FILE_BYTES // 2**20} MiB")
    try:
        data = parse_json(raw.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"the hints file {path} is not valid JSON: {err}") from None
    except ValueError as err:
        raise ValueError(f"the hints file {path}: {err}") from None
    if not isinstance(data, dict):
        raise ValueError(f"the hints file {path} must hold an object mapping photo names to lists of "
                         '[x, y, "#rrggbb"]')
    return {name: parse_hint_list(points, f"hints file {path}, photo {name!r}")
            for name, points in data.items()}


def parse_json(text: str) -> object:
    """``json.loads`` of hints, refusing nesting deeper than ``MAX_HINTS_DEPTH`` before it is parsed.

    A run of brackets deep enough to exhaust Python's recursion would otherwise
    end as a RecursionError from inside the parser; the scan is linear and
    skips brackets inside strings.
    """
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_HINTS_DEPTH:
                raise ValueError(f"the JSON is nested more than {MAX_HINTS_DEPTH} levels deep")
        elif char in "]}":
            depth -= 1
    return json.loads(text)


def parse_hints_text(text: str | None, where: str = "the hints") -> list[Hint]:
    """Hints typed as JSON, ``[[x, y, "#rrggbb"], ...]`` → [(x, y, colour)]; blank is none.
    The same size, depth and count limits as a hints file; errors name ``where``."""
    text = "" if text is None else str(text).strip()
    if not text:
        return []
    if len(text.encode("utf-8", "replace")) > MAX_HINTS_FILE_BYTES:
        raise ValueError(f"{where} are longer than {MAX_HINTS_FILE_BYTES // 2**20} MiB")
    try:
        points = parse_json(text)
    except json.JSONDecodeError:
        raise ValueError(f'{where} must be JSON: [[x, y, "#rrggbb"], ...]') from None
    return parse_hint_list(points, where)


def parse_hint_list(points: object, where: str = "hints") -> list[Hint]:
    """Decoded JSON ``[[x, y, "#rrggbb" or [r, g, b]], ...]`` → [(x, y, colour)]; the shape and
    colours are checked (the bounds need the photo: :func:`check_hints`); errors name ``where``."""
    if not isinstance(points, list):
        raise ValueError(f'{where}: expected a list of [x, y, "#rrggbb"], got {points!r:.60}')
    check_hint_count(len(points), where)
    hints = []
    for number, point in enumerate(points):
        if not isinstance(point, list) or len(point) != 3:
            raise ValueError(f'{where}, hint {number}: expected [x, y, "#rrggbb"], got {point!r:.60}')
        x, y, colour = point
        try:
            parse_colour(colour)
        except ValueError as err:
            raise ValueError(f"{where}, hint {number}: {err}") from None
        hints.append((x, y, tuple(colour) if isinstance(colour, list) else colour))
    return hints


def draw_hints(image: Image.Image, hints: Sequence[Hint], scale: float = 1.0) -> Image.Image:
    """An RGB copy of ``image`` with each hint drawn as a dot of its colour, ringed in white and
    black so that it shows on any background; (x, y) are multiplied by ``scale`` first."""
    shown = image.convert("RGB")
    draw = ImageDraw.Draw(shown)
    radius = max(3, round(min(shown.size) / 60))
    for x, y, colour in hints:
        cx, cy = x * scale, y * scale
        box = (cx - radius, cy - radius, cx + radius, cy + radius)
        draw.ellipse(box, fill=parse_colour(colour), outline=(0, 0, 0), width=1)
        draw.ellipse((box[0] - 1, box[1] - 1, box[2] + 1, box[3] + 1), outline=(255, 255, 255), width=1)
    return shown
