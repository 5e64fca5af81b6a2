"""Train an unconditional autoregressive baseline on image crops.

    python -m pipelines.train_baseline --model gated_pixelcnn --data DIR \
        --size 32 --channels rgb --out runs/gated_rgb [--preset small] [--max-steps N] [--resume]

``--channels rgb`` models 8-bit RGB (256 classes, R→G→B); ``--channels ab``
models the 32-bin quantized Lab chroma the colorizer predicts (a→b). The
progress bar shows the training loss in nats and bits/dim; every checkpoint
also scores the validation split, when the data folder has one.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import torch

from colorize.checkpoint import WEIGHTS_FILE
from colorize.models import available_models, build_model
from pipelines.corpus import CHANNEL_SETUPS, crops, split_images
from pipelines.evaluate_nll import bits_per_dim
from pipelines.distributed import setup, teardown
from pipelines.trainer import Trainer, TrainerConfig, add_run_arguments


def nll_loss(model, classes: torch.Tensor):
    """Teacher-forced NLL in nats per value, and the same in bits/dim for the progress bar."""
    classes = classes.to(next(model.parameters()).device)
    loss = model.loss(classes)
    return loss, {"bpd": loss.item() / math.log(2)}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, choices=available_models())
    parser.add_argument("--data", required=True, help="corpus folder (with train/val/test) or an image folder")
    parser.add_argument("--out", required=True, help="run folder for checkpoints and logs")
    parser.add_argument("--size", type=int, default=32, help="crop side in pixels")
    parser.add_argument("--channels", default="rgb", choices=sorted(CHANNEL_SETUPS))
    parser.add_argument("--preset", default="small")
    parser.add_argument("--max-steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--min-scale", type=float, default=0.25,
                        help="smallest crop side as a fraction of the image's shorter side")
    parser.add_argument("--checkpoint-every", type=int, default=500)
    parser.add_argument("--val-crops-per-image", type=int, default=4)
    add_run_arguments(parser, resume_help="continue the run in --out")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = parse_args(argv)
    out = Path(args.out)
    if not args.resume and (out / WEIGHTS_FILE).exists():
        raise SystemExit(f"{out} already holds a checkpoint; pass --resume to continue it")
    ranks, device = setup(args.device)
    try:
        return train(args, out, ranks, device)
    finally:
        teardown()


def train(args: argparse.Namespace, out: Path, ranks, device: torch.device) -> dict[str, float]:
    """The run itself, on every process; rank 0 alone prints, logs and writes."""
    torch.manual_seed(args.seed)  # the same initial weights on every rank

    num_channels, num_classes = CHANNEL_SETUPS[args.channels]
    train_set = crops(args.data, "train", args.size, args.channels, train=True,
                      min_scale=args.min_scale, seed=args.seed)
    val_set = None
    if split_images(args.data, "val") is not None:
        val_set = crops(args.data, "val", args.size, args.channels, train=False,
                        min_scale=args.min_scale, crops_per_image=args.val_crops_per_image)

    model = build_model(args.model, preset=args.preset, num_channels=num_channels, num_classes=num_classes)
    if ranks.is_main:
        print(f"{args.model} ({args.preset}): {model.num_parameters():,} parameters; "
              f"{len(train_set.paths)} training images; device {device}, {ranks.world_size} process(es), "
              f"global batch {args.batch_size}")

    def evaluate(model) -> dict[str, float]:
        return {} if val_set is None else {"val_bpd": bits_per_dim(model, val_set, 64, device)}

    config = TrainerConfig(
        max_steps=args.max_steps, batch_size=args.batch_size, learning_rate=args.lr,
        checkpoint_every=args.checkpoint_every, num_workers=args.num_workers, seed=args.seed,
        bf16=args.bf16,
    )
    run_info = {"data": {"channels": args.channels, "size": args.size, "min_scale": args.min_scale},
                "preset": args.preset}
    trainer = Trainer(model, train_set, nll_loss, out, config, device, run_info, evaluate, ranks=ranks)
    if args.resume:
        trainer.resume()
    return trainer.fit(stop_after=args.stop_after)


if __name__ == "__main__":
    main()
