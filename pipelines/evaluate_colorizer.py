"""Score a trained colorizer on held-out photos, beside the baselines it must beat.

    python -m pipelines.evaluate_colorizer --checkpoint RUN_DIR --data DIR --samples N
        [--split test] [--unconditional RUN_DIR] [--regression RUN_DIR]
        [--refinement-from RUN_DIR] [--classifier auto|lite0|lite1|lite2|none]
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
original, for the first sample, best-of-N and mean over the N samples, and
PSNR also as a difference from gray's; colourfulness (Hasler and Süsstrunk
2003) relative to the originals'; diversity as the mean pairwise ab distance
between the N samples of one image. Colorization has many right answers, so
PSNR and SSIM against the one original undersell any sampler; best-of-N asks
only that one sample came close, and the first sample is what a user who
takes one colorization gets.

Semantic fidelity (:mod:`pipelines.semantic_fidelity`, Zhang et al. 2016): an
ImageNet classifier other than the colorizer's backbone reads the original
and each method's first output; the table gives how often its top-1 class
agrees with the original's, and the mean KL(original ‖ output).

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
from colorize.color import NUM_AB_BINS, gray_rgb, rgb_from
from colorize.device import DEVICE_CHOICES, resolve_device
from colorize.metrics import (
    best_and_mean,
    colourfulness,
    edge_chroma_sharpness,
    mean_pairwise_ab_distance,
    psnr,
    ssim,
)
from colorize.models.ab_regression import AbRegression
from colorize.models.gated_pixelcnn import GatedPixelCNN
from colorize.models.pixcolor import PixColor
from colorize.old_print import old_print
from colorize.selection import SELECTIONS, bits_per_value, check_selection, select_maps
from pipelines.corpus import evaluation_crops, split_images
from pipelines.semantic_fidelity import SemanticJudge, agreement_and_kl, independent_backbone

# Per-method fields of the results; None where a metric does not apply.
FIELDS = ("bits_per_dim", "psnr_first", "psnr_best", "psnr_mean", "psnr_first_vs_gray",
          "psnr_best_vs_gray", "ssim_first", "ssim_best", "ssim_mean", "colourfulness",
          "colourfulness_ratio", "diversity", "top1_agreement", "kl_from_original", "edge_sharpness_ratio")
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
        self.psnr_first, self.psnr_best, self.psnr_mean = [], [], []
        self.ssim_first, self.ssim_best, self.ssim_mean = [], [], []
        self.colourfulness: list[float] = []  # one per output, all images pooled
        self.diversity: list[float] = []
        self.top1_agreement: list[float] = []  # of the first output, per image
        self.kl_from_original: list[float] = []
        self.edge_log_ratio: list[float] = []  # of the first output's chroma against the original's

    def add(self, outputs: torch.Tensor, truth: np.ndarray, ab: torch.Tensor | None,
            edges: tuple[np.ndarray, float] | None = None) -> None:
        """outputs (M, 3, S, S): the M colorizations of one image; truth (S, S, 3);
        ab (M, 2, S, S) their chroma, for diversity (None: M = 1 deterministic output);
        ``edges``: (the original's L (S, S), the edge sharpness of its own chroma), to
        score the first output's chroma at the edges (:func:`edge_chroma_sharpness`)."""
        images = to_images(outputs)
        for metric, first, best, mean in [(psnr, self.psnr_first, self.psnr_best, self.psnr_mean),
                                          (ssim, self.ssim_first, self.ssim_best, self.ssim_mean)]:
            values = [metric(image, truth) for image in images]
            b, m = best_and_mean(values)
            first.append(values[0])
            best.append(b)
            mean.append(m)
        self.colourfulness.extend(colourfulness(image) for image in images)
        if ab is not None and edges is not None:
            lightness, truth_sharpness = edges
            first = ab[0].permute(1, 2, 0).cpu().double().numpy()
            self.edge_log_ratio.append(math.log(edge_chroma_sharpness(lightness, first) / truth_sharpness))
        if ab is None:
            self.diversity.append(0.0)  # one output: every "sample" is the same
        elif ab.shape[0] >= 2:
            self.diversity.append(mean_pairwise_ab_distance(ab.cpu().double().numpy()))

    def add_semantics(self, agreement: list[float], kl: list[float]) -> None:
        """Per-image top-1 agreement and KL of the first output (see pipelines.semantic_fidelity)."""
        self.top1_agreement.extend(agreement)
        self.kl_from_original.extend(kl)

    def summary(self, truth_colourfulness: float, bits_per_dim: float | None = None) -> dict:
        """Means over images; the ``*_vs_gray`` fields are filled in by :func:`evaluate`."""
        mean_colour = float(np.mean(self.colourfulness))

        def mean(values: list[float]) -> float | None:
            return float(np.mean(values)) if values else None

        return {
            "bits_per_dim": bits_per_dim,
            "psnr_first": mean(self.psnr_first),
            "psnr_best": mean(self.psnr_best),
            "psnr_mean": mean(self.psnr_mean),
            "psnr_first_vs_gray": None,
            "psnr_best_vs_gray": None,
            "ssim_first": mean(self.ssim_first),
            "ssim_best": mean(self.ssim_best),
            "ssim_mean": mean(self.ssim_mean),
            "colourfulness": mean_colour,
            "colourfulness_ratio": mean_colour / truth_colourfulness if truth_colourfulness > 0 else None,
            "diversity": mean(self.diversity),
            "top1_agreement": mean(self.top1_agreement),
            "kl_from_original": mean(self.kl_from_original),
            # The geometric mean over images of the first output's sharpness / the original's.
            "edge_sharpness_ratio": math.exp(np.mean(self.edge_log_ratio)) if self.edge_log_ratio else None,
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
    judge: SemanticJudge | None = None,
    progress: bool = False,
    select: str = "drawn",
    draws: int | None = None,
    guidance: float = 1.0,
    top_p: float = 1.0,
    old_prints: int | None = None,
) -> dict:
    """Score ``model`` (and the optional baselines) on ``dataset``, items of :class:`colorize.dataset.ColorizerCrops`.

    Every metric is computed per image and averaged over images (PSNR in dB
    too, as colorization papers report it); colourfulness is averaged over all
    outputs, which is the same with N outputs per image. bits/dim is summed
    over all values before dividing. With a ``judge``, the semantic-fidelity
    fields are filled in for the first output of every method. ``select`` and
    ``draws``: which N of M drawn samples per image are scored, as
    :meth:`colorize.Colorizer.colorize_scored` keeps them. ``guidance`` and ``top_p``: as
    :meth:`colorize.Colorizer.colorize` samples. ``old_prints``: None, or a seed: every
    gray input is then turned into an old print (:func:`colorize.old_print.old_print`,
    the same prints for the same seed), and each method's output keeps the print's L,
    against the original photo. Returns ``{"methods": {name: {field: value}},
    "ground_truth_colourfulness": float}``; see :data:`FIELDS`.
    """
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    per_image = check_selection(select, num_samples, draws)
    models = [m for m in (model, unconditional, regression) if m is not None]
    for m in models:
        m.eval()
    device = next(model.parameters()).device
    # One CPU generator for every draw: the same seed gives the same samples
    # on any device (see colorize.sampling.draw_noise).
    generator = torch.Generator().manual_seed(seed)
    print_generator = None if old_prints is None else torch.Generator().manual_seed(old_prints)
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
        truth_rgb = rgb_from(l_work, ab_true)
        truth = to_images(truth_rgb)
        truth_colour.extend(colourfulness(image) for image in truth)
        l_clean = l_work[:, 0].cpu().double().numpy()
        ab_clean = ab_true.permute(0, 2, 3, 1).cpu().double().numpy()
        edges = [(l_clean[i], edge_chroma_sharpness(l_clean[i], ab_clean[i])) for i in range(b)]
        if print_generator is not None:
            # Every method sees the print; every score compares with the original photo.
            l_work = old_print(l_work.cpu(), print_generator).to(device)

        # 1. Teacher-forced NLL of the ground truth's low-res bins, with and without the gray image.
        cond = model.conditioning(l_work)
        bits["pixcolor"].add(model.decoder.bits_per_dim(bins, cond), bins.numel())
        if unconditional is not None:
            bits["unconditional"].add(unconditional.bits_per_dim(bins), bins.numel())

        # 2. N sampled colorizations per image, image-major, refined to S×S.
        log_prob = torch.zeros(b * per_image, dtype=torch.float64, device=device)
        lowres = model.sample_lowres(l_work, per_image, temperature, generator, log_prob=log_prob,
                                     guidance=guidance, top_p=top_p)
        if select != "drawn":
            drawn_bits = bits_per_value(log_prob, lowres[0].numel()).cpu()
            lowres = lowres[[i * per_image + k for i in range(b) for k in select_maps(
                lowres[i * per_image:(i + 1) * per_image], drawn_bits[i * per_image:(i + 1) * per_image],
                num_samples, select)]]
        ab_samples = model.refine(l_work, lowres)  # (B·N, 2, S, S)
        rgb = rgb_from(l_work, ab_samples)

        # 3. The deterministic rows: the gray input itself, and the regression baseline.
        gray = gray_rgb(l_work)
        if regression is not None:
            ab_regressed = model.refinement(l_work, regression(l_work))
            regressed = rgb_from(l_work, ab_regressed)

        # 4. Per-image scores.
        for i in range(b):
            samples = slice(i * num_samples, (i + 1) * num_samples)
            scores["pixcolor"].add(rgb[samples], truth[i], ab_samples[samples], edges[i])
            scores["gray"].add(gray[i:i + 1], truth[i], None)
            if regression is not None:
                scores["regression"].add(regressed[i:i + 1], truth[i], None)

        # 5. What an independent classifier makes of each method's first output.
        if judge is not None:
            firsts = {"pixcolor": rgb[::num_samples], "gray": gray}
            if regression is not None:
                firsts["regression"] = regressed
            log_p = judge(torch.cat([truth_rgb, *firsts.values()]).float()).split(b)
            for name, log_p_image in zip(firsts, log_p[1:]):
                scores[name].add_semantics(*agreement_and_kl(log_p[0], log_p_image))

    truth_colourfulness = float(np.mean(truth_colour))
    methods = {"pixcolor": scores["pixcolor"].summary(truth_colourfulness, bits["pixcolor"].result())}
    if unconditional is not None:
        methods["unconditional"] = {field: None for field in FIELDS}
        methods["unconditional"]["bits_per_dim"] = bits["unconditional"].result()
    if regression is not None:
        methods["regression"] = scores["regression"].summary(truth_colourfulness)
    methods["gray"] = scores["gray"].summary(truth_colourfulness)
    for row in methods.values():
        if row["psnr_first"] is not None:
            row["psnr_first_vs_gray"] = row["psnr_first"] - methods["gray"]["psnr_first"]
            row["psnr_best_vs_gray"] = row["psnr_best"] - methods["gray"]["psnr_first"]
    return {"methods": methods, "ground_truth_colourfulness": truth_colourfulness,
            "classifier": judge.variant if judge is not None else None}


def _number(value: float | None, digits: int) -> str:
    if value is None:
        return EMPTY
    if math.isinf(value):
        return "inf"
    return f"{value:.{digits}f}"


def _with_difference(value: float | None, difference: float | None) -> str:
    """"20.41 (−0.52)": a PSNR and, in brackets, its difference from gray's."""
    text = _number(value, 2)
    if value is not None and difference is not None and not math.isinf(difference):
        text += f" ({difference:+.2f})".replace("-", "−")
    return text


def format_table(results: dict) -> str:
    """The results as a markdown table, one row per method."""
    n = results["samples"]
    classifier = results.get("classifier") or "classifier"
    header = ["method", "ab bits/dim", "PSNR first (vs gray)", f"PSNR best-of-{n} (vs gray)",
              "SSIM first", f"SSIM best-of-{n}", "colourfulness (ratio to originals)",
              "diversity (mean pairwise ab distance)", f"top-1 agreement ({classifier})",
              "KL(original ‖ output)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, row in results["methods"].items():
        colour = _number(row["colourfulness"], 1)
        if row["colourfulness_ratio"] is not None:
            colour += f" ({row['colourfulness_ratio']:.2f}×)"
        agreement = row["top1_agreement"]
        cells = [METHODS[name], _number(row["bits_per_dim"], 3),
                 _with_difference(row["psnr_first"], row["psnr_first_vs_gray"]),
                 _with_difference(row["psnr_best"], row["psnr_best_vs_gray"]),
                 _number(row["ssim_first"], 4), _number(row["ssim_best"], 4),
                 colour, _number(row["diversity"], 2),
                 EMPTY if agreement is None else f"{100 * agreement:.1f} %",
                 _number(row["kl_from_original"], 3)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="PixColor run folder (train_colorizer)")
    parser.add_argument("--data", required=True, help="corpus folder (with train/val/test) or an image folder")
    parser.add_argument("--samples", type=int, required=True, help="colorizations N per image")
    parser.add_argument("--split", default="test", choices=["train", "val", "test", "heldout"])
    parser.add_argument("--unconditional", default=None,
                        help="run folder of an unconditional gated_pixelcnn over ab (bits/dim baseline)")
    parser.add_argument("--regression", default=None, help="run folder of an ab_regression baseline")
    parser.add_argument("--refinement-from", default=None,
                        help="a colorizer run folder whose refinement network replaces the checkpoint's "
                             "(to score decoder-only pilots with one fixed refinement)")
    parser.add_argument("--classifier", default="auto", choices=["auto", "lite0", "lite1", "lite2", "none"],
                        help="the independent ImageNet classifier of the semantic-fidelity columns "
                             "(auto: one that is not the colorizer's backbone)")
    parser.add_argument("--max-images", type=int, default=None, help="score only the first M images")
    parser.add_argument("--batch-images", type=int, default=4, help="images sampled together")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--select", default="drawn", choices=SELECTIONS,
                        help="which N of --draws samples per image are scored (colorize.selection)")
    parser.add_argument("--draws", type=int, default=None, help="samples drawn per image (default: N, or 4 N)")
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
    paths = split_images(args.data, args.split)
    if paths is None:
        raise SystemExit(f"data folder {args.data} has no {args.split!r} split")

    model, config = load_checked(args.checkpoint, device, PixColor, "--checkpoint")
    unconditional = regression = None
    if args.unconditional is not None:
        unconditional, _ = load_checked(args.unconditional, device, GatedPixelCNN, "--unconditional")
        check_unconditional(unconditional, args.unconditional)
    if args.regression is not None:
        regression, _ = load_checked(args.regression, device, AbRegression, "--regression")
    if args.refinement_from is not None:
        donor, _ = load_checked(args.refinement_from, device, PixColor, "--refinement-from")
        if donor.config.working_size != model.config.working_size:
            raise SystemExit(f"{args.refinement_from} works at {donor.config.working_size}px, "
                             f"{args.checkpoint} at {model.config.working_size}px")
        model.refinement = donor.refinement
    backbone = model.config.conditioning.backbone
    classifier = independent_backbone(backbone) if args.classifier == "auto" else args.classifier
    if classifier == backbone:
        raise SystemExit(f"--classifier {classifier} is the colorizer's own backbone; it must be another")
    judge = None if classifier == "none" else SemanticJudge(classifier).to(device)

    dataset = evaluation_crops(paths, model.config.working_size)
    num_images = len(dataset) if args.max_images is None else min(args.max_images, len(dataset))
    if num_images < len(dataset):
        dataset = Subset(dataset, range(num_images))
    print(f"{args.split} split of {args.data}: {num_images} images, N = {args.samples} samples each, "
          f"temperature {args.temperature}, seed {args.seed}, {model.config.working_size}px, device {device}")

    scores = evaluate(model, dataset, args.samples, args.temperature, args.seed, args.batch_images,
                      unconditional, regression, judge, progress=True, select=args.select, draws=args.draws)
    results = {
        "checkpoint": str(args.checkpoint),
        "steps": {stage: state.get("step") for stage, state in config.get("stages", {}).items()},
        "unconditional_checkpoint": args.unconditional,
        "regression_checkpoint": args.regression,
        "refinement_from": args.refinement_from,
        "data": str(args.data),
        "split": args.split,
        "images": num_images,
        "samples": args.samples,
        "select": args.select,
        "draws": check_selection(args.select, args.samples, args.draws),
        "temperature": args.temperature,
        "seed": args.seed,
        "working_size": model.config.working_size,
        **scores,
    }
    print(format_table(results))
    print(f"ground truth colourfulness: {results['ground_truth_colourfulness']:.1f}")
    write_results(results, args.out, Path(args.checkpoint) / f"eval_{args.split}.json")
    return results


def write_results(results: dict, out: str | None, default: Path) -> None:
    """Write an evaluation's ``results`` as JSON to ``out``, or to ``default``, and say where."""
    path = Path(out) if out is not None else default
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, results)
    print(f"results written to {path}")


if __name__ == "__main__":
    main()
