"""Low-res chroma corrupted the way the decoder's samples differ from the truth.

PixColor (Guadarrama et al. 2017, Sec. 3.3) trains the refinement network on
the ground truth's own 28×28 bins. A sample is never like them: here and
there a cell drawn from the tail of its distribution, a small blob of
another colour where the decoder followed a wrong draw for a few cells, and
everywhere a jitter of a bin or so. A refinement network that has only seen
clean bins copies those faults to full resolution. Trained on corrupted bins
with the true full-resolution ab as the target, it learns to follow the
coherent regions of its input, which the gray image's edges bound, and to
remove what disagrees with them.
"""

from __future__ import annotations

import torch

from colorize.color import NUM_AB_BINS

# Per corrupted crop: the share of cells redrawn at random, the number of
# blobs (each a square of 1–3 cells of one random colour), and the jitter.
STRAY_CELL_SHARE = (0.0, 0.06)
MAX_BLOBS = 4
MAX_BLOB_SIDE = 3
JITTER_PROBABILITY = 0.5  # per cell, of a shift by ±1 bin (±2 at a quarter of those)


def corrupt_bins(bins: torch.Tensor, probability: float,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Bins (B, 2, h, w), int64 in [0, 32) → a copy in which each crop, picked with
    ``probability``, has stray cells, blobs of another colour and jittered bins.

    The draws come from ``generator`` on the CPU, so they are the same on any device.
    """
    if bins.dim() != 4 or bins.shape[1] != 2 or bins.dtype != torch.long:
        raise ValueError(f"bins must be int64 (B, 2, h, w), got {bins.dtype} {tuple(bins.shape)}")
    if not 0 <= probability <= 1:
        raise ValueError(f"probability must be in [0, 1], got {probability}")
    batch, _, height, width = bins.shape
    picked = torch.rand(batch, generator=generator) < probability
    # Jitter: −2 … +2 bins, mostly 0 and ±1, per cell and channel.
    step = torch.randint(0, 2, (batch, 2, height, width), generator=generator) * 2 - 1
    moves = torch.rand(batch, 2, height, width, generator=generator)
    jitter = torch.where(moves < JITTER_PROBABILITY, step, torch.zeros_like(step))
    jitter = torch.where(moves < JITTER_PROBABILITY / 4, 2 * step, jitter)
    out = (bins.cpu() + jitter).clamp(0, NUM_AB_BINS - 1)
    # Stray cells: redrawn anywhere in the ab range.
    share = STRAY_CELL_SHARE[0] + (STRAY_CELL_SHARE[1] - STRAY_CELL_SHARE[0]) * torch.rand(
        batch, 1, 1, 1, generator=generator)
    stray = torch.rand(batch, 1, height, width, generator=generator) < share
    random_bins = torch.randint(0, NUM_AB_BINS, (batch, 2, height, width), generator=generator)
    out = torch.where(stray, random_bins, out)
    # Blobs: small squares of one colour, the colour of a random other cell of the crop
    # (a plausible colour, in the wrong place), shifted a little.
    counts = torch.randint(0, MAX_BLOBS + 1, (batch,), generator=generator)
    sides = torch.randint(1, MAX_BLOB_SIDE + 1, (batch, MAX_BLOBS), generator=generator)
    tops = torch.rand(batch, MAX_BLOBS, generator=generator)
    lefts = torch.rand(batch, MAX_BLOBS, generator=generator)
    sources = torch.randint(0, height * width, (batch, MAX_BLOBS), generator=generator)
    for index in range(batch):
        flat = bins[index].cpu().flatten(1)
        for blob in range(int(counts[index])):
            side = int(sides[index, blob])
            top = int(tops[index, blob] * (height - side + 1))
            left = int(lefts[index, blob] * (width - side + 1))
            colour = flat[:, int(sources[index, blob])]
            out[index, :, top:top + side, left:left + side] = colour[:, None, None]
    chosen = picked[:, None, None, None]
    return torch.where(chosen, out, bins.cpu()).to(bins.device)


def corruption_rate(clean: torch.Tensor, corrupted: torch.Tensor) -> float:
    """The share of cells whose bins differ (either channel), for logs and tests."""
    return float((clean != corrupted).any(1).float().mean())
