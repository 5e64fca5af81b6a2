"""The picture of colour hints at work: per photo, samples without hints and, with the same seed, with them.

    python -m pipelines.hint_figure --checkpoint colorize/weights/default --data PHOTOS --split val \\
        --prefix roads --prefix flowers --hints 10 --samples 4 --out docs/hints.png
    python -m pipelines.hint_figure ... --hints 1 --points suggested --out docs/one_hint.png

Each photo gives two rows of the same fixed crop that the evaluation scores:
[gray, N samples without hints, ground truth] and [gray with the hints drawn,
N samples with them, ground truth]. Both rows draw with one seed, so what
differs between them is what the hints changed. The hints are ``--hints``
points placed uniformly at random, or with ``--points suggested`` where the
uncertainty map suggests them, each with the original's colour there, as
:mod:`pipelines.evaluate_hints` takes them; nobody picks where they go. Both
rows sample at the model's default guidance and nucleus.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from colorize.checkpoint import load_model
from colorize.color import gray_rgb, rgb_from
from colorize.device import resolve_device
from colorize.hints import draw_hints, user_hint_map
from colorize.image_io import array_to_rgb, tensor_to_pil
from colorize.models.pixcolor import PixColor
from pipelines.corpus import evaluation_crops, split_images
from pipelines.evaluate_hints import POINTS, hints_from_truth, model_defaults, random_points, suggested_points
from pipelines.sample_figure import evenly_spaced, first_of_each_prefix
from pipelines.sample_grid import write_grid


@torch.no_grad()
def hint_rows(model: PixColor, item: dict, num_hints: int, num_samples: int, seed: int,
              points: str = "random") -> list[list[torch.Tensor]]:
    """The two rows of one crop: without and with ``num_hints`` hints from its truth, one seed;
    the hints at random or at the suggested points (``points``)."""
    device = next(model.parameters()).device
    size = model.config.working_size
    lightness, ab = item["l"][None].to(device), item["ab"][None].to(device)
    truth = rgb_from(lightness, ab)[0]
    if points == "suggested":
        spots = suggested_points(model, lightness, num_hints, torch.Generator().manual_seed(seed + 2))
    else:
        spots = random_points(size, num_hints, torch.Generator().manual_seed(seed))
    hints = hints_from_truth(truth.permute(1, 2, 0).cpu().double().numpy(), spots)
    hint_map = user_hint_map(hints, size, size, size, device)
    gray = gray_rgb(lightness)[0]
    rows = []
    drawn = array_to_rgb(np.asarray(draw_hints(tensor_to_pil(gray), hints))).to(device)
    for maps, first in ((None, gray), (hint_map, drawn)):
        bins = model.sample_lowres(lightness, num_samples, generator=torch.Generator().manual_seed(seed),
                                   hints=maps, **model_defaults(model))
        samples = rgb_from(lightness.expand(num_samples, -1, -1, -1), model.refine(lightness, bins, maps))
        rows.append([first, *samples, truth])
    return rows


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="a colorizer trained with hints")
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="val")
    parser.add_argument("--prefix", action="append", default=None,
                        help="the first photo whose file name starts with this (repeatable)")
    parser.add_argument("--images", type=int, default=2, help="without --prefix: evenly spaced photos")
    parser.add_argument("--hints", type=int, default=10, help="hints from the truth per photo")
    parser.add_argument("--points", choices=POINTS, default="random",
                        help="where the hints go: at random, or where the uncertainty map suggests")
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default="docs/hints.png")
    args = parser.parse_args(argv)
    model, _ = load_model(args.checkpoint, resolve_device(args.device))
    if not isinstance(model, PixColor) or not model.config.hints:
        parser.error(f"{args.checkpoint} holds no colorizer trained with hints")
    paths = split_images(args.data, args.split)
    if paths is None:
        parser.error(f"{args.data} has no {args.split!r} split")
    crops = evaluation_crops(paths, model.config.working_size)
    try:
        indices = first_of_each_prefix(crops.paths, args.prefix) if args.prefix \
            else evenly_spaced(args.images, len(crops))
    except ValueError as err:
        parser.error(str(err))
    rows = [row for index in indices
            for row in hint_rows(model.eval(), crops[index], args.hints, args.samples, args.seed, args.points)]
    path = write_grid(args.out, rows)
    print(f"{len(rows)} rows (gray, then gray with {args.hints} {args.points} hints | {args.samples} samples, one seed "
          f"| ground truth) written to {path}")
    return path


if __name__ == "__main__":
    main()
