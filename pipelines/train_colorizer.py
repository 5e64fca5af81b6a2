"""Train the colorizer, stage by stage, or the baselines it is compared with.

    python -m pipelines.train_colorizer --data DIR --out RUN_DIR [--stage decoder|refine]
        [--preset tiny|small|medium|base] [--max-steps N] [--resume]

PixColor (Guadarrama et al. 2017), Sec. 3:

* ``--stage decoder`` trains the adaptation network and the conditional Gated
  PixelCNN by cross-entropy on 28×28 ab bins, teacher-forced (the backbone
  stays frozen unless ``--finetune-backbone``);
* ``--stage refine`` trains the refinement network with an L1 loss on the
  ground truth's own low-res bins, never on samples (Sec. 3.3).

``--hints`` gives a model trained without them its colour-hint inputs
(:mod:`colorize.hints`), zero at first, typically with ``--init-from`` a
trained colorizer. A model with hint inputs trains both stages on hints
simulated from each crop's ground truth, as Zhang et al. 2017 simulate a user
(none for a quarter of the crops), and reports its validation metric both
without hints and with fixed simulated ones (``val_<metric>_hints``).

Three options shape what a stage sees, each recorded as the stage's ``recipe``
in the checkpoint: ``--cond-dropout P`` (decoder) replaces the conditioning
of a share P of the crops by a learned null map, so that the model samples
with classifier-free guidance (Ho and Salimans 2022); ``--old-prints P`` (both
stages) turns a share P of the gray inputs into scanned old prints
(:mod:`colorize.old_print`), the targets kept clean; ``--corrupt-lowres P``
(refine) feeds a share P of the crops low-res bins corrupted as samples differ
from the truth (:mod:`pipelines.lowres_corruption`). A plain photo folder never
trains on its held-out sources (:mod:`pipelines.corpus`).

Both stages write into the same RUN_DIR (``model.safetensors`` +
``config.json`` rebuild the whole colorizer); each keeps its optimizer state
and log in ``RUN_DIR/<stage>/`` and resumes on its own. At every checkpoint a
PNG grid of validation images (gray, samples, ground truth; fixed training
crops for a folder without a val split) is written to
``RUN_DIR/<stage>/grid_<step>.png``.

Two more stages train the baselines of ``pipelines.evaluate_colorizer`` on the
very same crops, each into its own RUN_DIR:

* ``--stage unconditional``: the same Gated PixelCNN preset without the gray
  image, to measure what conditioning is worth in bits/dim;
* ``--stage regression``: an L2 regression of 28×28 ab from the same
  conditioning network, the deterministic alternative to sampling.

The same command trains on a GPU when one is present (``--device auto``).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import torch
import torch.nn.functional as F

from colorize.checkpoint import CONFIG_FILE, load_model
from colorize.color import AB_SCALE, NUM_AB_BINS, dequantize_ab, gray_rgb, quantize_ab, rgb_from
from colorize.hints import hinted_bins, perturb_chroma, simulate_hints
from colorize.models import build_model
from colorize.models.conditioning import BACKBONE_SIZE, BACKBONES
from colorize.models.pixcolor import HINT_LR_SCALE, PRESETS, PixColor
from colorize.old_print import old_print
from pipelines.corpus import colorizer_crops, split_images
from pipelines.lowres_corruption import corrupt_bins
from pipelines.sample_grid import write_grid
from pipelines.distributed import setup, teardown
from pipelines.trainer import Trainer, TrainerConfig, add_run_arguments

STAGES = ("decoder", "refine", "unconditional", "regression")
MODEL_OF_STAGE = {"decoder": "pixcolor", "refine": "pixcolor", "unconditional": "gated_pixelcnn",
                  "regression": "ab_regression"}
# Metric shown on the progress bar and reported on the validation split, per stage.
# With a hint refinement: the share of crops with hints whose low-res chroma
# is perturbed; the rest keep the ground truth's, where the network must not
# change what the shared one does.
DEFAULT_PERTURB = 0.75
METRIC_OF_STAGE = {"decoder": "bpd", "refine": "l1_ab", "unconditional": "bpd", "regression": "mse_ab"}


def batch_losses(model: torch.nn.Module, stage: str, batch: dict[str, torch.Tensor],
                 context_noise: float = 0.0, hint_generator: torch.Generator | None = None,
                 perturb: float = 0.0, augment: dict | None = None):
    """One batch of :class:`ColorizerCrops` → (loss to minimise, the stage's metric as a float).

    ``context_noise`` (decoder stage, training only): the standard deviation
    of the noise on the decoder's teacher-forced inputs; the metric is then
    the loss on noisy context, while validation always scores clean context.
    ``hint_generator`` (colorizer stages of a model with hint inputs): draws
    the simulated hints of each crop; None scores the crops without hints.
    ``perturb`` (refine stage, with hints): the probability that a crop with
    hints gets perturbed low-res chroma (:func:`perturb_chroma`), its hinted
    cells set to the hint's bins, as the sampler sets them.
    ``augment`` (training only): {"generator": a CPU generator, "old_prints": the share of
    crops whose gray input becomes an old print (:func:`old_print`; the targets stay the
    clean photo's), "cond_dropout": the decoder's share of crops with the null
    conditioning, "corrupt_lowres": the refine stage's share of crops fed corrupted bins
    (:func:`corrupt_bins`)}.
    """
    device = next(model.parameters()).device
    lightness, ab, bins = batch["l"].to(device), batch["ab"].to(device), batch["bins"].to(device)
    augment = augment or {}
    generator = augment.get("generator")
    hints = None
    if stage in ("decoder", "refine") and hint_generator is not None:
        hints = simulate_hints(ab, hint_generator)
    if augment.get("old_prints", 0) > 0:
        lightness = old_print(lightness, generator, augment["old_prints"])
    if stage == "decoder":
        loss = model.decoder_loss(lightness, bins, context_noise, hints,
                                  augment.get("cond_dropout", 0.0), generator)
        return loss, loss.item() / math.log(2)
    if stage == "unconditional":
        loss = model.loss(bins)
        return loss, loss.item() / math.log(2)
    if stage == "refine":
        if augment.get("corrupt_lowres", 0) > 0:
            bins = corrupt_bins(bins, augment["corrupt_lowres"], generator)
        if hints is not None and perturb > 0:
            bins = quantize_ab(perturb_chroma(dequantize_ab(bins), hints, perturb, hint_generator))
            fixed = hinted_bins(hints, bins.shape[-1])
            bins = torch.where(fixed >= 0, fixed, bins)
        loss = model.refinement_loss(lightness, bins, ab, hints)
        return loss, loss.item() * AB_SCALE  # mean |error| in ab units
    ab_low = F.avg_pool2d(ab, ab.shape[-1] // bins.shape[-1])
    loss = model.loss(lightness, ab_low)
    return loss, loss.item() * AB_SCALE**2  # mean squared error in ab units²


@torch.no_grad()
def validation_metric(model, stage: str, dataset, batch_size: int, hint_seed: int | None = None,
                      perturb: float = 0.0) -> float:
    """The stage's metric averaged over the validation crops (all batches weighted by size);
    with ``hint_seed``, on hints simulated from that seed (the same at every evaluation), and
    low-res chroma perturbed as in training with probability ``perturb``."""
    total, count = 0.0, 0
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size)
    hint_generator = None if hint_seed is None else torch.Generator().manual_seed(hint_seed)
    for batch in loader:
        _, value = batch_losses(model, stage, batch, hint_generator=hint_generator, perturb=perturb)
        total, count = total + value * len(batch["l"]), count + len(batch["l"])
    return total / count


@torch.no_grad()
def sample_rows(model: PixColor, dataset, num_images: int, num_samples: int, seed: int):
    """Grid rows for the first validation crops: [gray, sample 1..N, ground truth], drawn with
    the model's default sampling settings."""
    items = [dataset[i] for i in range(min(num_images, len(dataset)))]
    device = next(model.parameters()).device
    lightness = torch.stack([item["l"] for item in items]).to(device)
    truth = rgb_from(lightness, torch.stack([item["ab"] for item in items]).to(device))
    generator = torch.Generator().manual_seed(seed)
    # The model's own sampling defaults, as the Colorizer draws.
    bins = model.sample_lowres(lightness, num_samples, generator=generator,
                               guidance=model.config.default_guidance, top_p=model.config.default_top_p)
    ab = model.refine(lightness, bins)
    samples = rgb_from(lightness, ab).view(len(items), num_samples, 3, *ab.shape[-2:])
    gray = gray_rgb(lightness)
    return [[gray[i], *samples[i], truth[i]] for i in range(len(items))]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="corpus folder (with train/val/test) or an image folder")
    parser.add_argument("--out", required=True, help="run folder for the checkpoint, logs and grids")
    parser.add_argument("--stage", default="decoder", choices=STAGES)
    parser.add_argument("--preset", default="small", choices=sorted(PRESETS),
                        help="model size, used when the run folder holds no model yet")
    parser.add_argument("--finetune-backbone", action="store_true",
                        help="also train the EfficientNet backbone (it is then stored in the checkpoint)")
    parser.add_argument("--backbone", default="lite0", choices=sorted(BACKBONES),
                        help="the ImageNet backbone of the conditioning network, used when the run "
                             "folder holds no model yet")
    parser.add_argument("--max-steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--size", type=int, default=BACKBONE_SIZE,
                        help="working resolution of the crops, used when the run folder holds no model yet")
    parser.add_argument("--min-scale", type=float, default=0.5,
                        help="smallest crop side as a fraction of the image's shorter side")
    parser.add_argument("--checkpoint-every", type=int, default=500)
    parser.add_argument("--val-crops-per-image", type=int, default=2)
    parser.add_argument("--grid-images", type=int, default=4, help="validation images in the PNG grid")
    parser.add_argument("--grid-samples", type=int, default=2, help="samples per image in the PNG grid")
    parser.add_argument("--context-noise", type=float, default=0.0,
                        help="decoder stage: Gaussian noise (std, inputs in [-1, 1]) on the teacher-forced "
                             "context, against colour drift when sampling; 0.1 is about 1.5 bins")
    parser.add_argument("--hints", action="store_true",
                        help="add colour-hint inputs (zero at first) to a model without them, and train "
                             "on simulated hints; a model that has them always trains on hints")
    parser.add_argument("--hint-refinement", action="store_true",
                        help="refine stage, a model with hint inputs: give photos with hints a refinement "
                             "network of their own, a copy of the shared one, which alone is trained; the "
                             "shared one, for photos without hints, stays as it is")
    parser.add_argument("--perturb-lowres", type=float, default=None,
                        help="refine stage with hints: the probability that a crop with hints is fed "
                             "perturbed low-res chroma, so that the network learns to follow hints that "
                             "its chroma contradicts (default: 0.75 with a hint refinement, else 0)")
    parser.add_argument("--cond-dropout", type=float, default=0.0,
                        help="decoder stage: the share of crops whose conditioning is replaced by a "
                             "learned null map, for classifier-free guidance (about 0.1-0.2); adds the "
                             "null map to a model without one")
    parser.add_argument("--old-prints", type=float, default=0.0,
                        help="the share of crops whose gray input is turned into a scanned old print "
                             "(colorize.old_print), the targets kept clean")
    parser.add_argument("--corrupt-lowres", type=float, default=0.0,
                        help="refine stage: the share of crops fed low-res bins corrupted as samples "
                             "differ from the truth (stray cells, blobs, jitter), not the clean bins")
    parser.add_argument("--hint-lr-scale", type=float, default=HINT_LR_SCALE,
                        help="the hint inputs' learning rate as a multiple of --lr (the default is "
                             "for fine-tuning a model given new, zero hint inputs)")
    parser.add_argument("--init-from", default=None,
                        help="a checkpoint folder whose weights (and model config) a new run starts "
                             "from, with a fresh optimizer and schedule; ignored when --out holds a model")
    add_run_arguments(parser, resume_help="continue this stage in --out")
    return parser.parse_args(argv)


def build_or_load(args: argparse.Namespace, out: Path) -> tuple[torch.nn.Module, dict]:
    """The run folder's model if it has one (the other stage may have made it), else the
    ``--init-from`` checkpoint's weights to start from, else a new model."""
    want = MODEL_OF_STAGE[args.stage]
    source = out if (out / CONFIG_FILE).is_file() else args.init_from
    if source is not None:
        model, config = load_model(source)
        if config["model"] != want:
            raise SystemExit(f"{source} holds a {config['model']} model; stage {args.stage} trains a {want}")
        if config.get("preset") not in (None, args.preset):
            print(f"{source} holds a {config['preset']} model; --preset {args.preset} is ignored")
        info = {k: v for k, v in config.items() if k not in ("model", "config")}
        if source is args.init_from:
            # The steps that made the starting weights stay on record (the model
            # card's total); this run's own stages start again at step 0.
            earlier = {"init_from": str(source), "stages": info.pop("stages", {})}
            info["history"] = [*info.get("history", []), earlier]
        return model, info
    conditioning = {**PRESETS[args.preset]["conditioning"], "finetune_backbone": args.finetune_backbone,
                    "backbone": args.backbone}
    if want == "pixcolor":
        model = build_model("pixcolor", args.preset, conditioning=conditioning, working_size=args.size)
    elif want == "ab_regression":
        model = build_model("ab_regression", args.preset, conditioning=conditioning)
    else:
        model = build_model("gated_pixelcnn", preset=args.preset, num_channels=2, num_classes=NUM_AB_BINS)
    info = {"preset": args.preset, "data": {"size": args.size, "min_scale": args.min_scale}}
    return model, info


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = parse_args(argv)
    out = Path(args.out)
    # The unconditional and regression baselines have one stage: no subfolder.
    staged = MODEL_OF_STAGE[args.stage] == "pixcolor"
    state_dir = out / args.stage if staged else out
    if not args.resume and (state_dir / "trainer.json").exists():
        raise SystemExit(f"{out} has already trained stage {args.stage}; pass --resume to continue it")
    ranks, device = setup(args.device)
    try:
        return train(args, out, staged, ranks, device)
    finally:
        teardown()


def train(args: argparse.Namespace, out: Path, staged: bool, ranks, device: torch.device) -> dict[str, float]:
    """The run itself, on every process; rank 0 alone prints, logs and writes."""
    state_dir = out / args.stage if staged else out
    torch.manual_seed(args.seed)  # the same initial weights on every rank

    model, run_info = build_or_load(args, out)
    if args.stage == "decoder":
        # Stored in the model's config: its sampler reads draws with the same noise.
        model.config.context_noise = args.context_noise
    if args.hints and not staged:
        raise SystemExit(f"--hints is for the colorizer's stages, not stage {args.stage}")
    if args.hints and not model.config.hints:
        model.add_hint_inputs()
    if args.cond_dropout:
        if args.stage != "decoder" or not 0 < args.cond_dropout < 1:
            raise SystemExit("--cond-dropout is a share in (0, 1), for the decoder stage")
        if model.null_cond is None:
            model.add_null_conditioning()
    for name in ("old_prints", "corrupt_lowres"):
        if not 0 <= getattr(args, name) <= 1:
            raise SystemExit(f"--{name.replace('_', '-')} is a share in [0, 1]")
    if args.corrupt_lowres and args.stage != "refine":
        raise SystemExit("--corrupt-lowres is for the refine stage")
    if args.old_prints and not staged:
        raise SystemExit("--old-prints is for the colorizer's stages")
    augment = {"generator": torch.Generator().manual_seed(args.seed * 1000 + 500 + ranks.rank),
               "old_prints": args.old_prints, "cond_dropout": args.cond_dropout,
               "corrupt_lowres": args.corrupt_lowres}
    with_hints = staged and model.config.hints
    if args.hint_refinement:
        if args.stage != "refine" or not model.config.hints:
            raise SystemExit("--hint-refinement is for the refine stage of a model with hint inputs")
        if model.hint_refinement is None:
            model.add_hint_refinement()
    perturb = args.perturb_lowres
    if perturb is None:
        perturb = DEFAULT_PERTURB if with_hints and model.config.hint_refinement and args.stage == "refine" else 0.0
    if not 0 <= perturb <= 1 or (perturb and not (with_hints and args.stage == "refine")):
        raise SystemExit("--perturb-lowres is a probability, for the refine stage of a model with hints")
    # Each rank draws its own crops' hints; on the CPU, so any device gives the same.
    hint_generator = torch.Generator().manual_seed(args.seed * 1000 + ranks.rank) if with_hints else None
    size = run_info["data"]["size"]
    min_scale = run_info["data"]["min_scale"]
    train_set = colorizer_crops(args.data, "train", train=True, size=size, min_scale=min_scale,
                                seed=args.seed)
    val_set = None
    if split_images(args.data, "val") is not None:
        val_set = colorizer_crops(args.data, "val", train=False, size=size, min_scale=min_scale,
                                  crops_per_image=args.val_crops_per_image)
    # A plain photo folder has no validation split: the grid then shows fixed
    # training crops, so progress can still be seen.
    grid_set = val_set or colorizer_crops(args.data, "train", train=False, size=size,
                                          min_scale=min_scale, crops_per_image=1)
    if staged:
        params = model.stage_parameters(args.stage, hint_lr_scale=args.hint_lr_scale)
    else:
        params = model.stage_parameters(args.stage) if args.stage == "regression" else None
    flat = [p for group in params for p in group["params"]] if params and isinstance(params[0], dict) \
        else params
    trained = sum(p.numel() for p in (flat or model.parameters()))
    if ranks.is_main:
        preset = run_info.get("preset", args.preset)
        print(f"stage {args.stage}: {MODEL_OF_STAGE[args.stage]} ({preset}), {trained:,} trained "
              f"parameters; {len(train_set.paths)} training images at {size}×{size}; device {device}, "
              f"{ranks.world_size} process(es), global batch {args.batch_size}")

    metric = METRIC_OF_STAGE[args.stage]
    trainer: Trainer | None = None

    def evaluate(model) -> dict[str, float]:
        metrics = {}
        if val_set is not None:
            metrics[f"val_{metric}"] = validation_metric(model, args.stage, val_set, args.batch_size)
            if with_hints:
                metrics[f"val_{metric}_hints"] = validation_metric(model, args.stage, val_set,
                                                                   args.batch_size, hint_seed=0,
                                                                   perturb=perturb)
        if staged and args.grid_images > 0 and args.grid_samples > 0:
            rows = sample_rows(model, grid_set, args.grid_images, args.grid_samples, args.seed)
            write_grid(state_dir / f"grid_{trainer.step:06d}.png", rows)
        return metrics

    def loss_fn(model, batch):
        loss, value = batch_losses(model, args.stage, batch, args.context_noise, hint_generator, perturb,
                                   augment)
        return loss, {metric: value}

    config = TrainerConfig(
        max_steps=args.max_steps, batch_size=args.batch_size, learning_rate=args.lr,
        checkpoint_every=args.checkpoint_every, num_workers=args.num_workers, seed=args.seed,
        bf16=args.bf16,
    )
    trainer = Trainer(model, train_set, loss_fn, out, config, device, run_info, evaluate,
                      parameters=params, stage=args.stage if staged else None, ranks=ranks,
                      recipe={key: value for key, value in augment.items() if key != "generator" and value}
                      | ({"context_noise": args.context_noise} if args.context_noise else {})
                      | ({"hint_lr_scale": args.hint_lr_scale} if with_hints else {}))
    if args.resume:
        trainer.resume()
    return trainer.fit(stop_after=args.stop_after)


if __name__ == "__main__":
    main()
