"""The picture of the colorizer at work: gray input, N samples, ground truth, per photo.

    python -m pipelines.sample_figure --checkpoint colorize/weights/default --data corpus \\
        --images 6 --samples 4 --out docs/samples.png [--data skimage_photos --images 3 ...]

Photos are picked evenly spaced through each ``--data`` folder's ``--split``
(the same fixed crop of the full shorter side that the evaluation scores),
not chosen by hand. ``--data`` and ``--images`` may be given several times,
one count per folder; their rows are stacked.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from colorize.checkpoint import load_model
from colorize.dataset import ColorizerCrops
from colorize.device import resolve_device
from colorize.models.pixcolor import PixColor
from pipelines.corpus import split_dir
from pipelines.sample_grid import write_grid
from pipelines.train_colorizer import sample_rows


def evenly_spaced(count: int, total: int) -> list[int]:
    """``count`` indices spread over range(total), first and last included when count > 1."""
    if count >= total:
        return list(range(total))
    if count == 1:
        return [0]
    return [round(n * (total - 1) / (count - 1)) for n in range(count)]


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--data", action="append", required=True, help="corpus folder (repeatable)")
    parser.add_argument("--images", type=int, action="append", help="photos per --data folder")
    parser.add_argument("--split", default="test")
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default="docs/samples.png")
    args = parser.parse_args(argv)
    counts = args.images or [6] * len(args.data)
    if len(counts) != len(args.data):
        parser.error("give one --images per --data")

    device = resolve_device(args.device)
    model, _ = load_model(args.checkpoint, device)
    if not isinstance(model, PixColor):
        parser.error(f"{args.checkpoint} is not a colorizer checkpoint")
    model.eval()
    rows = []
    for data, count in zip(args.data, counts):
        folder = split_dir(data, args.split)
        if folder is None:
            parser.error(f"{data} has no {args.split!r} split")
        crops = ColorizerCrops(folder, size=model.config.working_size, min_scale=1.0,
                               deterministic=True, flip=False, crops_per_image=1, seed=0)
        picked = torch.utils.data.Subset(crops, evenly_spaced(count, len(crops)))
        rows += sample_rows(model, picked, count, args.samples, args.seed)
    path = write_grid(args.out, rows)
    print(f"{len(rows)} rows (gray | {args.samples} samples | ground truth) written to {path}")
    return path


if __name__ == "__main__":
    main()
