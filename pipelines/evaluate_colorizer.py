"""Score a trained colorizer on held-out photos, beside the baselines it must beat.

    python -m pipelines.evaluate_colorizer --checkpoint RUN_DIR --data DIR --samples N
        [--split test] [--unconditional RUN_DIR] [--regression RUN_DIR]
        [--max-images M] [--batch-images B] [--temperature T] [--seed S]
        [--device auto|cpu|cuda] [--out FILE.json]

Each held-out image gives one fixed square crop of its full shorter side at the
checkpoint's working resolution. Rows of the printed table:

* ``pixcolor``: the teacher-forced bits/dim of its conditional decoder on the
  crop's 28×28 ab bins (PixColor, Guadarrama et al. 2017, Sec. 3.2), then N
  sampled colorizations per image, refined (Sec. 3.3) and scored;
* ``unconditional gated_pixelcnn`` (``--unconditional``): the same bits/dim
  without the gray image, so the gain from conditioning is a measured number;
* ``regression`` (``--regression``): an L2 regression of 28×28 ab, lifted by
  this checkpoint's refinement network: the deterministic alternative, whose
  known failure is desaturation (Sec. 1);
* ``gray``: ab = 0, the input itself, the floor every colorizer starts from.

Metrics (see :mod:`colorize.metrics`): PSNR and SSIM in sRGB against the
original, best-of-N and mean over the N samples; colourfulness (Hasler and
Süsstrunk 2003) relative to the originals'; diversity as the mean pairwise ab
distance between the N samples of one image. Colorization has many right
answers, so PSNR and SSIM against the one original undersell any sampler;
best-of-N asks only that one sample came close.

The results are printed as a markdown table and written as JSON to ``--out``
(default ``RUN_DIR/eval_<split>.json``).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset
from tqdm.auto import tqdm

from colorize.checkpoint import load_model, write_json
from colorize.color import NUM_AB_BINS, lab_to_rgb
from colorize.colorizer import resize
from colorize.dataset import ColorizerCrops
from colorize.device import DEVICE_CHOICES, resolve_device
from colorize.metrics import best_and_mean, colourfulness, mean_pairwise_ab_distance, psnr, ssim
from colorize.models.ab_regression import AbRegression
from colorize.models.conditioning import BACKBONE_SIZE
from colorize.models.gated_pixelcnn import GatedPixelCNN
from colorize.models.pixcolor import PixColor
from pipelines.corpus import split_dir

# Per-method fields of the results; None where a metric does not apply.
FIELDS = ("bits_per_dim", "psnr_best", "psnr_mean", "ssim_best", "ssim_mean",
          "colourfulness", "colourfulness_ratio", "diversity")
# Table rows, in order, and their display names.
METHODS = {"pixcolor": "pixcolor", "unconditional": "unconditional gated_pixelcnn",
           "regression": "regression", "gray": "gray"}
EMPTY = "—"


def load_checked(run_dir: str | Path, device: torch.device, expected: type, what: str):
    """``load_model`` that refuses a checkpoint of the wrong kind with a message, not a crash later."""
    model, config = load_model(run_dir, device)
    if not isinstance(model, expected):
        raise SystemExit(f"{run_dir} holds a model of kind {config['model']!r}, but {what} needs "
                         f"{expected.model_name!r}")
    return model, config


def check_unconditional(model: GatedPixelCNN, run_dir: str | Path) -> None:
    """The unconditional baseline must model exactly what the decoder models: 2 × 32 bins of ab."""
    if model.is_conditional:
        raise SystemExit(f"{run_dir} holds a conditional gated_pixelcnn; --unconditional needs "
                         "one trained without the gray image (train_colorizer --stage unconditional)")
    if model.num_channels != 2 or model.num_classes != NUM_AB_BINS:
        raise SystemExit(f"{run_dir} models {model.num_channels} channels × {model.num_classes} "
                         f"classes; --unconditional needs 2 channels (a, b) × {NUM_AB_BINS} bins")


def to_images(rgb: torch.Tensor) -> list[np.ndarray]:
    """(M, 3, H, W) sRGB tensor → M numpy (H, W, 3) images, the convention of colorize.metrics."""
    return list(rgb.permute(0, 2, 3, 1).cpu().double().numpy())


class MethodScores:
    """Per-image scores of one method's outputs; :meth:`summary` averages them over images."""

    def __init__(self) -> None:
        self.psnr_best, self.psnr_mean, self.ssim_best, self.ssim_mean = [], [], [], []
        self.colourfulness: list[float] = []  # one per output, all images pooled
        self.diversity: list[float] = []

    def add(self, outputs: torch.Tensor, truth: np.ndarray, ab: torch.Tensor | None) -> None:
        """outputs (M, 3, S, S): the M colorizations of one image; truth (S, S, 3);
        ab (M, 2, S, S) their chroma, for diversity (None: M = 1 deterministic output)."""
        images = to_images(outputs)
        for metric, best, mean in [(psnr, self.psnr_best, self.psnr_mean),
                                   (ssim, self.ssim_best, self.ssim_mean)]:
            b, m = best_and_mean([metric(image, truth) for image in images])
            best.append(b)
            mean.append(m)
        self.colourfulness.extend(colourfulness(image) for image in images)
        if ab is None:
            self.diversity.append(0.0)  # one output: every "sample" is the same
        elif ab.shape[0] >= 2:
            self.diversity.append(mean_pairwise_ab_distance(ab.cpu().double().numpy()))

    def summary(self, truth_colourfulness: float, bits_per_dim: float | None = None) -> dict:
        mean_colour = float(np.mean(self.colourfulness))
        return {
            "bits_per_dim": bits_per_dim,
            "psnr_best": float(np.mean(self.psnr_best)),
            "psnr_mean": float(np.mean(self.psnr_mean)),
            "ssim_best": float(np.mean(self.ssim_best)),
            "ssim_mean": float(np.mean(self.ssim_mean)),
            "colourfulness": mean_colour,
            "colourfulness_ratio": mean_colour / truth_colourfulness if truth_colourfulness > 0 else None,
            "diversity": float(np.mean(self.diversity)) if self.diversity else None,
        }


class BitsPerDim:
    """Summed NLL over every value of every image / number of values / ln 2 (PixelRNN Sec. 5.1)."""

    def __init__(self) -> None:
        self.bits, self.values = 0.0, 0

    def add(self, bits_per_dim: torch.Tensor, values: int) -> None:
        # bits_per_dim is a batch mean; weighting by the batch's value count
        # makes unequal batches (the last one) count per value, not per batch.
        self.bits += bits_per_dim.item() * values
        self.values += values

    def result(self) -> float:
        return self.bits / self.values


@torch.no_grad()
def evaluate(
    model: PixColor,
    dataset,
    num_samples: int,
    temperature: float = 1.0,
    seed: int = 0,
    batch_images: int = 4,
    unconditional: GatedPixelCNN | None = None,
    regression: AbRegression | None = None,
    progress: bool = False,
) -> dict:
    """Score ``model`` (and the optional baselines) on ``dataset``, items of :class:`ColorizerCrops`.

    Every metric is computed per image and averaged over images (PSNR in dB
    too, as colorization papers report it); colourfulness is averaged over all
    outputs, which is the same with N outputs per image. bits/dim is summed
    over all values before dividing. Returns ``{"methods": {name: {field: value}},
    "ground_truth_colourfulness": float}``; see :data:`FIELDS`.
    """
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    models = [m for m in (model, unconditional, regression) if m is not None]
    for m in models:
        m.eval()
    device = next(model.parameters()).device
    # One CPU generator for every draw: the same seed gives the same samples
    # on any device (see colorize.sampling.draw_noise).
    generator = torch.Generator().manual_seed(seed)
    scores = {"pixcolor": MethodScores(), "gray": MethodScores()}
    if regression is not None:
        scores["regression"] = MethodScores()
    bits = {"pixcolor": BitsPerDim()}
    if unconditional is not None:
        bits["unconditional"] = BitsPerDim()
    truth_colour = []

    loader = DataLoader(dataset, batch_size=batch_images, shuffle=False)
    for batch in tqdm(loader, desc="evaluating", unit="batch", disable=not progress):
        l_work = batch["l"].to(device)  # (B, 1, S, S)
        ab_true = batch["ab"].to(device)
        bins = batch["bins"].to(device)  # (B, 2, 28, 28)
        b = l_work.shape[0]
        truth = to_images(lab_to_rgb(torch.cat([l_work, ab_true], dim=1)))
        truth_colour.extend(colourfulness(image) for image in truth)

        # 1. Teacher-forced NLL of the ground truth's low-res bins, with and without the gray image.
        l_backbone = resize(l_work, BACKBONE_SIZE, BACKBONE_SIZE)
        cond = model.conditioning(l_backbone)
        bits["pixcolor"].add(model.decoder.bits_per_dim(bins, cond), bins.numel())
        if unconditional is not None:
            bits["unconditional"].add(unconditional.bits_per_dim(bins), bins.numel())

        # 2. N sampled colorizations per image, image-major, refined to S×S.
        lowres = model.sample_lowres(l_backbone, num_samples, temperature, generator)
        ab_samples = model.refine(l_work, lowres)  # (B·N, 2, S, S)
        rgb = lab_to_rgb(torch.cat([l_work.repeat_interleave(num_samples, dim=0), ab_samples], dim=1))

        # 3. The deterministic rows: the gray input itself, and the regression baseline.
        gray = lab_to_rgb(torch.cat([l_work, torch.zeros_like(ab_true)], dim=1))
        if regression is not None:
            ab_regressed = model.refinement(l_work, regression(l_backbone))
            regressed = lab_to_rgb(torch.cat([l_work, ab_regressed], dim=1))

        # 4. Per-image scores.
        for i in range(b):
            samples = slice(i * num_samples, (i + 1) * num_samples)
            scores["pixcolor"].add(rgb[samples], truth[i], ab_samples[samples])
            scores["gray"].add(gray[i:i + 1], truth[i], None)
            if regression is not None:
                scores["regression"].add(regressed[i:i + 1], truth[i], None)

    truth_colourfulness = float(np.mean(truth_colour))
    methods = {"pixcolor": scores["pixcolor"].summary(truth_colourfulness, bits["pixcolor"].result())}
    if unconditional is not None:
        methods["unconditional"] = {field: None for field in FIELDS}
        methods["unconditional"]["bits_per_dim"] = bits["unconditional"].result()
    if regression is not None:
        methods["regression"] = scores["regression"].summary(truth_colourfulness)
    methods["gray"] = scores["gray"].summary(truth_colourfulness)
    return {"methods": methods, "ground_truth_colourfulness": truth_colourfulness}


def _number(value: float | None, digits: int) -> str:
    if value is None:
        return EMPTY
    if math.isinf(value):
        return "inf"
    return f"{value:.{digits}f}"


def format_table(results: dict) -> str:
    """The results as a markdown table, one row per method."""
    header = ["method", "ab bits/dim", f"PSNR best-of-{results['samples']}", "PSNR mean",
              f"SSIM best-of-{results['samples']}", "SSIM mean",
              "colourfulness (ratio to ground truth)", "diversity (mean pairwise ab distance)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, row in results["methods"].items():
        colour = _number(row["colourfulness"], 1)
        if row["colourfulness_ratio"] is not None:
            colour += f" ({row['colourfulness_ratio']:.2f}×)"
        cells = [METHODS[name], _number(row["bits_per_dim"], 3),
                 _number(row["psnr_best"], 2), _number(row["psnr_mean"], 2),
                 _number(row["ssim_best"], 4), _number(row["ssim_mean"], 4),
                 colour, _number(row["diversity"], 2)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="PixColor run folder (train_colorizer)")
    parser.add_argument("--data", required=True, help="corpus folder (with train/val/test) or an image folder")
    parser.add_argument("--samples", type=int, required=True, help="colorizations N per image")
    parser.add_argument("--split", default="test", choices=["train", "val", "test"])
    parser.add_argument("--unconditional", default=None,
                        help="run folder of an unconditional gated_pixelcnn over ab (bits/dim baseline)")
    parser.add_argument("--regression", default=None, help="run folder of an ab_regression baseline")
    parser.add_argument("--max-images", type=int, default=None, help="score only the first M images")
    parser.add_argument("--batch-images", type=int, default=4, help="images sampled together")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampler")
    parser.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    parser.add_argument("--out", default=None, help="JSON results (default RUN_DIR/eval_<split>.json)")
    args = parser.parse_args(argv)
    if args.samples < 1:
        parser.error(f"--samples must be >= 1, got {args.samples}")
    if args.batch_images < 1:
        parser.error(f"--batch-images must be >= 1, got {args.batch_images}")
    if args.max_images is not None and args.max_images < 1:
        parser.error(f"--max-images must be >= 1, got {args.max_images}")
    if not args.temperature > 0:
        parser.error(f"--temperature must be > 0, got {args.temperature}")
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    device = resolve_device(args.device)
    folder = split_dir(args.data, args.split)
    if folder is None:
        raise SystemExit(f"data folder {args.data} has no {args.split!r} split")

    model, config = load_checked(args.checkpoint, device, PixColor, "--checkpoint")
    unconditional = regression = None
    if args.unconditional is not None:
        unconditional, _ = load_checked(args.unconditional, device, GatedPixelCNN, "--unconditional")
        check_unconditional(unconditional, args.unconditional)
    if args.regression is not None:
        regression, _ = load_checked(args.regression, device, AbRegression, "--regression")

    # One fixed, unflipped crop of the full shorter side per image.
    dataset = ColorizerCrops(folder, size=model.config.working_size, min_scale=1.0,
                             deterministic=True, flip=False, crops_per_image=1, seed=0)
    num_images = len(dataset) if args.max_images is None else min(args.max_images, len(dataset))
    if num_images < len(dataset):
        dataset = Subset(dataset, range(num_images))
    print(f"{args.split} split of {args.data}: {num_images} images, N = {args.samples} samples each, "
          f"temperature {args.temperature}, seed {args.seed}, {model.config.working_size}px, device {device}")

    scores = evaluate(model, dataset, args.samples, args.temperature, args.seed, args.batch_images,
                      unconditional, regression, progress=True)
    results = {
        "checkpoint": str(args.checkpoint),
        "step": config.get("step"),
        "unconditional_checkpoint": args.unconditional,
        "regression_checkpoint": args.regression,
        "data": str(args.data),
        "split": args.split,
        "images": num_images,
        "samples": args.samples,
        "temperature": args.temperature,
        "seed": args.seed,
        "working_size": model.config.working_size,
        **scores,
    }
    print(format_table(results))
    print(f"ground truth colourfulness: {results['ground_truth_colourfulness']:.1f}")
    out = Path(args.out) if args.out is not None else Path(args.checkpoint) / f"eval_{args.split}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json(out, results)
    print(f"results written to {out}")
    return results


if __name__ == "__main__":
    main()
