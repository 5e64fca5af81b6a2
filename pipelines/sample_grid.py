"""A PNG contact sheet of colorizations, so training progress can be seen, not only read.

One row per validation image: the gray input, the samples, the ground truth.
"""

from __future__ import annotations

from pathlib import Path

import torch

from colorize.atomic_write import atomic_file
from colorize.image_io import tensor_to_pil


def grid_image(rows: list[list[torch.Tensor]], gap: int = 2) -> torch.Tensor:
    """Rows of equally sized sRGB images (3, H, W) → one (3, R·(H+gap)-gap, C·(W+gap)-gap), white gaps."""
    if not rows or not rows[0]:
        raise ValueError("a grid needs at least one image")
    _, h, w = rows[0][0].shape
    cols = max(len(row) for row in rows)
    sheet = torch.ones(3, len(rows) * (h + gap) - gap, cols * (w + gap) - gap)
    for r, row in enumerate(rows):
        for c, image in enumerate(row):
            if image.shape != (3, h, w):
                raise ValueError(f"grid images must all be (3, {h}, {w}), got {tuple(image.shape)}")
            sheet[:, r * (h + gap): r * (h + gap) + h, c * (w + gap): c * (w + gap) + w] = image.cpu()
    return sheet


def write_grid(path: str | Path, rows: list[list[torch.Tensor]]) -> Path:
    """Save the grid as a PNG, atomically (a viewer never sees half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as file:
        tensor_to_pil(grid_image(rows)).save(file, format="PNG")
    return path
