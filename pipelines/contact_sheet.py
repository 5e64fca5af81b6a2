"""A contact sheet to look at before shipping weights: every sample of fixed photos, no picking.

    python -m pipelines.contact_sheet --checkpoint colorize/weights/default [--checkpoint NEW] \\
        --photo skimage_photos/test/chelsea.png --folder OLD_PHOTOS --samples 4 --seed 0 \\
        --out docs/old_photos.png

Per photo and per checkpoint one row: the gray photo, then N colorizations
made by the public :class:`colorize.Colorizer` API exactly as a user gets them
(the model's default sampling settings unless ``--guidance``/``--top-p``),
with one seed for every model, so that two checkpoints' rows compare like
with like. Photos are reduced to ``--max-side`` before colorizing, which
keeps a sheet of old scans quick; every sample is shown, never the best.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from colorize import Colorizer
from colorize.dataset import list_images
from colorize.image_io import load_array

GAP = 4


def thumbnail(image: Image.Image, height: int) -> Image.Image:
    width = max(1, round(image.width * height / image.height))
    return image.resize((width, height), Image.Resampling.LANCZOS)


def reduced(path: Path, max_side: int) -> Image.Image:
    """The photo as RGB, its longer side at most ``max_side``."""
    image = Image.fromarray(np.asarray(load_array(path))).convert("RGB")
    scale = max_side / max(image.size)
    if scale < 1:
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                             Image.Resampling.LANCZOS)
    return image


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", action="append", required=True, help="colorizer folder (repeatable)")
    parser.add_argument("--photo", action="append", default=[], help="a photo (repeatable)")
    parser.add_argument("--folder", action="append", default=[], help="every photo of a folder (repeatable)")
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--guidance", type=float, default=None)
    parser.add_argument("--top-p", type=float, default=None)
    parser.add_argument("--max-side", type=int, default=512)
    parser.add_argument("--tile-height", type=int, default=160)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    photos = [Path(p) for p in args.photo] + [p for folder in args.folder for p in list_images(folder)]
    if not photos:
        parser.error("give at least one --photo or --folder")
    colorizers = [Colorizer.from_pretrained(c, device=args.device) for c in args.checkpoint]
    rows = []
    for path in photos:
        image = reduced(path, args.max_side)
        gray = image.convert("L").convert("RGB")
        for colorizer in colorizers:
            samples = colorizer.colorize(image, args.samples, seed=args.seed, guidance=args.guidance,
                                         top_p=args.top_p)
            rows.append([thumbnail(tile, args.tile_height) for tile in [gray, *samples]])
        print(f"{path.name}: {len(colorizers)} row(s) of {args.samples} samples", flush=True)
    width = max(sum(tile.width for tile in row) + GAP * (len(row) - 1) for row in rows)
    sheet = Image.new("RGB", (width, len(rows) * (args.tile_height + GAP) - GAP), "white")
    draw = ImageDraw.Draw(sheet)
    for number, row in enumerate(rows):
        x, y = 0, number * (args.tile_height + GAP)
        for tile in row:
            sheet.paste(tile, (x, y))
            x += tile.width + GAP
        if len(colorizers) > 1:
            draw.text((4, y + 4), Path(args.checkpoint[number % len(colorizers)]).name, fill="red")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    print(f"{len(rows)} rows (gray | {args.samples} samples per checkpoint) written to {out}")
    return out


if __name__ == "__main__":
    main()
