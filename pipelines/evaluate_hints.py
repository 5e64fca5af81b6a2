"""How much colour hints help: PSNR of the first sample against the number of hints.

    python -m pipelines.evaluate_hints --checkpoint RUN_DIR --data DIR [--split val]
        [--counts 0 1 2 5 10 20] [--points random|suggested] [--draws 3] [--samples 2]
        [--max-images M] [--seed S] [--device auto|cpu|cuda] [--out FILE.json]

The curve of Zhang et al. 2017 (Sec. 4.2, Fig. 5): hints are taken from the
original, as a user who knew the true colours would give them, and the first
sample's PSNR is measured against the original, sampled at the model's
default guidance and nucleus, as a user gets it. Each held-out image gives the
same fixed crop as :mod:`pipelines.evaluate_colorizer` (its full shorter side
at the working resolution). For each of ``--draws`` draws, ``max(counts)``
points are placed uniformly at random and the first k of them are the k
hints, so the counts are nested as a user's clicks would be; each hint's
colour is the original's mean sRGB over the patch it marks, and the hint goes
through the same path as ``Colorizer.colorize(hints=...)``
(:func:`colorize.hints.user_hint_map`).

Reported per count, averaged over images and draws:

* ``psnr_first``: PSNR of the first sample in sRGB, dB, and its gain over no hints;
* ``delta_e``: the median CIE76 ΔE between the first sample at each hint's
  point and the hint's colour at the photo's own L (what the output can show);
* ``diversity``: the mean ab distance between the first two samples away from
  the hints (pixels farther than ``AWAY`` px from every hint patch), so that a
  model that froze all colour once given hints would score 0.

``--points suggested`` places the hints where the page and ``colorize batch
--uncertainty-map`` suggest them instead (:func:`colorize.uncertainty.suggest_hints`):
``SUGGEST_SAMPLES`` samples of the image without hints are drawn, and the k
hints go to the first k peaks of their spread, one draw per image. Where an
image has room for fewer than k suggestions it gets what there is, and
``hints_given`` says how many that was on average.

All the configurations of one image (every count and draw) are sampled as one
decoder batch.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from tqdm.auto import tqdm

from colorize.checkpoint import load_model
from colorize.color import denormalize_ab, rgb_from, rgb_to_lab
from colorize.device import DEVICE_CHOICES, resolve_device
from colorize.hints import USER_PATCH_SIDE, empty_hint_map, user_hint_map
from colorize.metrics import psnr
from colorize.models.pixcolor import PixColor
from colorize.uncertainty import colour_spread, suggest_hints
from pipelines.corpus import evaluation_crops, split_images
from pipelines.evaluate_colorizer import write_results

COUNTS = (0, 1, 2, 5, 10, 20)
POINTS = ("random", "suggested")
# The samples whose spread places the suggested hints: as many as the page draws by default
# and more, so that the map is stable.
SUGGEST_SAMPLES = 8
AWAY = 8  # px at the working resolution: diversity is measured this far from every hint patch


def random_points(size: int, count: int, generator: torch.Generator) -> list[tuple[int, int]]:
    """``count`` points (x, y), uniform on a size × size crop."""
    return [tuple(p) for p in torch.randint(0, size, (count, 2), generator=generator).tolist()]


def model_defaults(model: PixColor) -> dict:
    """The sampling settings a user of the model gets: its guidance scale and nucleus."""
    return {"guidance": model.config.default_guidance, "top_p": model.config.default_top_p}


def suggested_points(model: PixColor, lightness: torch.Tensor, count: int,
                     generator: torch.Generator) -> list[tuple[int, int]]:
    """Up to ``count`` points (x, y) of the crop where the spread of ``SUGGEST_SAMPLES`` samples
    drawn without hints suggests a hint, most uncertain first (what the page suggests)."""
    size = lightness.shape[-1]
    bins = model.sample_lowres(lightness, SUGGEST_SAMPLES, generator=generator, **model_defaults(model))
    ab = model.refine(lightness.expand(SUGGEST_SAMPLES, -1, -1, -1), bins)
    rgb = rgb_from(lightness.expand(SUGGEST_SAMPLES, -1, -1, -1), ab).clamp(0, 1)
    images = [Image.fromarray((image.permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8))
              for image in rgb]
    return suggest_hints(colour_spread(images), size, size, count=count)


def hints_from_truth(rgb: np.ndarray, points: list[tuple[int, int]]) -> list[tuple[int, int, tuple]]:
    """Each point (x, y) with the original's mean sRGB (H, W, 3 floats in [0, 1]) over its patch."""
    half = USER_PATCH_SIDE // 2
    hints = []
    for x, y in points:
        patch = rgb[max(y - half, 0):y + half + 1, max(x - half, 0):x + half + 1]
        colour = tuple(int(v) for v in np.clip(np.round(patch.reshape(-1, 3).mean(0) * 255), 0, 255))
        hints.append((x, y, colour))
    return hints


def delta_e_at_hints(output_lab: torch.Tensor, lightness: torch.Tensor, hint_map: torch.Tensor,
                     hints: list[tuple[int, int, tuple]]) -> list[float]:
    """CIE76 ΔE between the output (3, S, S) Lab at each hint's point and (photo L, hint ab)."""
    values = []
    for x, y, _ in hints:
        wanted = torch.cat([lightness[:, y, x], denormalize_ab(hint_map[:2, y, x])])
        values.append(float((output_lab[:, y, x] - wanted).norm()))
    return values


def away_from_hints(hint_map: torch.Tensor) -> torch.Tensor:
    """(3, S, S) → bool (S, S): the pixels farther than ``AWAY`` px from every hint."""
    near = F.max_pool2d(hint_map[2:3][None], 2 * AWAY + 1, stride=1, padding=AWAY)[0, 0]
    return near == 0


@torch.no_grad()
def evaluate_hints(model: PixColor, dataset, counts=COUNTS, draws: int = 3, num_samples: int = 2,
                   seed: int = 0, progress: bool = False, points: str = "random") -> dict:
    """Score ``model`` with k hints from the truth, for each k of ``counts``, the points placed
    at random or where suggested (``points``); see the module docstring.

    Returns ``{"counts": {k: {"psnr_first", "psnr_gain", "delta_e_median", "diversity",
    "hints_given"}}}``.
    """
    if points not in POINTS:
        raise ValueError(f"points must be one of {POINTS}, got {points!r}")
    if points == "suggested":
        draws = 1  # the suggestions are what they are: one set per image
    if not model.config.hints:
        raise ValueError("this model was trained without colour hints")
    if num_samples < 2:
        raise ValueError("diversity needs at least 2 samples")
    size = model.config.working_size
    device = next(model.parameters()).device
    point_generator = torch.Generator().manual_seed(seed)
    sample_generator = torch.Generator().manual_seed(seed + 1)
    suggest_generator = torch.Generator().manual_seed(seed + 2)
    # Count 0 has no points to draw: one configuration, not one per draw.
    configs = [(0, 0)] * (0 in counts) + [(k, d) for d in range(draws) for k in counts if k > 0]
    psnrs = {k: [] for k in counts}
    delta_es = {k: [] for k in counts}
    diversity = {k: [] for k in counts}
    given = {k: [] for k in counts}
    for item in tqdm(dataset, desc="hints", unit="image", disable=not progress):
        lightness, ab = item["l"][None].to(device), item["ab"][None].to(device)
        truth = rgb_from(lightness, ab)[0].permute(1, 2, 0).cpu().double().numpy()
        if points == "suggested":
            draw_points = [suggested_points(model, lightness, max(counts), suggest_generator)]
        else:
            draw_points = [random_points(size, max(counts), point_generator) for _ in range(draws)]
        hint_lists = [hints_from_truth(truth, draw_points[d][:k]) for k, d in configs]
        maps = torch.cat([user_hint_map(hints, size, size, size, device) if hints
                          else empty_hint_map(1, size, device) for hints in hint_lists])
        batch_l = lightness.expand(len(configs), -1, -1, -1)
        bins = model.sample_lowres(batch_l, num_samples, generator=sample_generator, hints=maps,
                                   **model_defaults(model))
        ab_out = model.refine(batch_l, bins, maps).view(len(configs), num_samples, 2, size, size)
        for index, ((k, _), hints) in enumerate(zip(configs, hint_lists)):
            given[k].append(len(hints))
            first = rgb_from(lightness, ab_out[index, :1])
            psnrs[k].append(psnr(first[0].permute(1, 2, 0).cpu().double().numpy(), truth))
            if hints:
                delta_es[k] += delta_e_at_hints(rgb_to_lab(first)[0], lightness[0], maps[index], hints)
            away = away_from_hints(maps[index])
            distance = (ab_out[index, 0] - ab_out[index, 1]).norm(dim=0)
            diversity[k].append(float(distance[away].mean()))
    base = statistics.fmean(psnrs[0]) if 0 in counts else None
    results = {}
    for k in counts:
        mean_psnr = statistics.fmean(psnrs[k])
        results[k] = {
            "psnr_first": mean_psnr,
            "psnr_gain": None if base is None else mean_psnr - base,
            "delta_e_median": statistics.median(delta_es[k]) if delta_es[k] else None,
            "diversity": statistics.fmean(diversity[k]),
            "hints_given": statistics.fmean(given[k]),
        }
    return {"counts": results}


def format_table(results: dict) -> str:
    lines = ["| hints | given (mean) | PSNR first (dB) | gain over none | gain per hint | median ΔE at the hints "
             "| diversity away from hints |", "|---|---|---|---|---|---|---|"]
    for k, row in results["counts"].items():
        gain = "" if row["psnr_gain"] is None or k == 0 else f"{row['psnr_gain']:+.2f}"
        per_hint = "" if not gain or not row["hints_given"] else f"{row['psnr_gain'] / row['hints_given']:+.3f}"
        delta_e = "" if row["delta_e_median"] is None else f"{row['delta_e_median']:.1f}"
        lines.append(f"| {k} | {row['hints_given']:.1f} | {row['psnr_first']:.2f} | {gain} | {per_hint} | {delta_e} "
                     f"| {row['diversity']:.1f} |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="a colorizer trained with --hints")
    parser.add_argument("--data", required=True, help="corpus folder or image folder")
    parser.add_argument("--split", default="val")
    parser.add_argument("--counts", type=int, nargs="+", default=list(COUNTS),
                        help="numbers of hints (default: %(default)s)")
    parser.add_argument("--points", choices=POINTS, default="random",
                        help="where the hints go: uniformly at random, or where the uncertainty map "
                             "suggests (default: %(default)s)")
    parser.add_argument("--draws", type=int, default=3, help="draws of the random points per image")
    parser.add_argument("--samples", type=int, default=2, help="samples per configuration (>= 2)")
    parser.add_argument("--max-images", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    parser.add_argument("--out", default=None, help="JSON results (default: RUN_DIR/hints_<split>.json)")
    args = parser.parse_args(argv)
    if any(k < 0 for k in args.counts) or args.draws < 1:
        parser.error("--counts must be >= 0 and --draws >= 1")
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    device = resolve_device(args.device)
    paths = split_images(args.data, args.split)
    if paths is None:
        raise SystemExit(f"data folder {args.data} has no {args.split!r} split")
    model, _ = load_model(args.checkpoint, device)
    if not isinstance(model, PixColor) or not model.config.hints:
        raise SystemExit(f"{args.checkpoint} holds no colorizer trained with hints")
    if args.max_images is not None:
        paths = paths[:args.max_images]
    dataset = evaluation_crops(paths, model.config.working_size)
    print(f"{args.split} split of {args.data}: {len(dataset)} images, hints {args.counts}, "
          f"{1 if args.points == 'suggested' else args.draws} draws of {args.points} points, seed {args.seed}")
    results = evaluate_hints(model, dataset, tuple(args.counts), args.draws, args.samples, args.seed,
                             progress=True, points=args.points)
    results = {"checkpoint": str(args.checkpoint), "data": str(args.data), "split": args.split,
               "images": len(dataset), "points": args.points,
               "draws": 1 if args.points == "suggested" else args.draws, "samples": args.samples,
               "seed": args.seed, **results}
    print(format_table(results))
    write_results(results, args.out, Path(args.checkpoint) / f"hints_{args.split}_{args.points}.json")
    return results


if __name__ == "__main__":
    main()
