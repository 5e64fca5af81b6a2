"""The picture of the colorizer at work: gray input, N samples, ground truth, per photo.

    python -m pipelines.sample_figure --checkpoint colorize/weights/default --data corpus \\
        --images 6 --samples 4 --out docs/samples.png [--data skimage_photos --images 3 ...]

Photos are picked evenly spaced through each ``--data`` folder's ``--split``
(the same fixed crop of the full shorter side that the evaluation scores),
not chosen by hand; or, with ``--prefix``, the first photo of each named
source (file-name prefix) of the first folder, so that a figure shows people,
skies, grass and streets without anyone choosing the best of them. ``--data``
and ``--images`` may be given several times, one count per folder; their rows
are stacked. Two ``--checkpoint``s give a before/after figure: each row shows
both models' samples, drawn with the same seed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from colorize.checkpoint import load_model
from colorize.device import resolve_device
from colorize.models.pixcolor import PixColor
from pipelines.corpus import evaluation_crops, split_images
from pipelines.sample_grid import write_grid
from pipelines.train_colorizer import sample_rows


def evenly_spaced(count: int, total: int) -> list[int]:
    """``count`` indices spread over range(total), first and last included when count > 1."""
    if count >= total:
        return list(range(total))
    if count == 1:
        return [0]
    return [round(n * (total - 1) / (count - 1)) for n in range(count)]


def first_of_each_prefix(paths: list[Path], prefixes: list[str]) -> list[int]:
    """For each prefix, the index of the first path (in order) whose file name starts with it."""
    picked = []
    for prefix in prefixes:
        found = next((i for i, p in enumerate(paths) if p.name.startswith(prefix)), None)
        if found is None:
            raise ValueError(f"no photo of the split has a name starting with {prefix!r}")
        picked.append(found)
    return picked


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", action="append", required=True,
                        help="colorizer run folder; give it twice for a before/after figure")
    parser.add_argument("--data", action="append", required=True, help="data folder (repeatable)")
    parser.add_argument("--images", type=int, action="append", help="photos per --data folder")
    parser.add_argument("--prefix", action="append", default=None,
                        help="instead of evenly spaced photos of the first --data folder, the first "
                             "photo whose file name starts with each of these (repeatable)")
    parser.add_argument("--split", action="append", default=None,
                        help="split of each --data folder (default test; one value serves them all)")
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default="docs/samples.png")
    args = parser.parse_args(argv)
    counts = args.images or [6] * len(args.data)
    if len(counts) != len(args.data):
        parser.error("give one --images per --data")
    splits = args.split or ["test"]
    if len(splits) == 1:
        splits = splits * len(args.data)
    if len(splits) != len(args.data):
        parser.error("give one --split, or one per --data")

    device = resolve_device(args.device)
    models = []
    for checkpoint in args.checkpoint:
        model, _ = load_model(checkpoint, device)
        if not isinstance(model, PixColor):
            parser.error(f"{checkpoint} is not a colorizer checkpoint")
        models.append(model.eval())
    size = models[0].config.working_size
    if any(model.config.working_size != size for model in models):
        parser.error("the checkpoints work at different sizes")
    rows = []
    for number, (data, count, split) in enumerate(zip(args.data, counts, splits)):
        paths = split_images(data, split)
        if paths is None:
            parser.error(f"{data} has no {split!r} split")
        crops = evaluation_crops(paths, size)
        if number == 0 and args.prefix:
            try:
                indices = first_of_each_prefix(crops.paths, args.prefix)
            except ValueError as err:
                parser.error(str(err))
        else:
            indices = evenly_spaced(count, len(crops))
        picked = torch.utils.data.Subset(crops, indices)
        # Every checkpoint draws with the same seed: [gray, samples of each checkpoint, ground truth].
        per_model = [sample_rows(model, picked, len(indices), args.samples, args.seed) for model in models]
        for parts in zip(*per_model):
            rows.append([parts[0][0], *(image for part in parts for image in part[1:-1]), parts[0][-1]])
    path = write_grid(args.out, rows)
    columns = " | ".join(f"{args.samples} samples of {c}" for c in args.checkpoint)
    print(f"{len(rows)} rows (gray | {columns} | ground truth) written to {path}")
    return path


if __name__ == "__main__":
    main()
