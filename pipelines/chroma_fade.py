"""Does a decoder's free-running sample keep the photo's chroma? Mean |ab| row by row.

    python -m pipelines.chroma_fade --checkpoint RUN_DIR --data PHOTOS [--split val] [--images 32]

For evenly spaced held-out crops, the mean chroma |ab| (Lab units) of the
28×28 maps, over all, and row by row:

* ``truth``: the photo's own bins;
* ``teacher-forced``: each value drawn from the decoder given the true
  values before it, all at once. A decoder trained by cross-entropy is
  calibrated here, so this matches the truth;
* ``sampled, context noise S``: free-running samples, the decoder reading its
  own draws with context noise S. S = 0 reads them exact; the value in the
  checkpoint is what the colorizer uses.

A decoder trained on noisy context but sampled without it shrinks every
value towards the conditional mean and fades row by row (model card,
"Colour drift"); reading its draws with the training noise keeps the chroma.
"""

from __future__ import annotations

import argparse

import torch

from colorize.checkpoint import load_model
from colorize.color import dequantize_ab
from colorize.device import DEVICE_CHOICES, resolve_device
from colorize.models.pixcolor import LOWRES_SIZE, PixColor
from colorize.sampling import draw_noise, sample_from_logits
from pipelines.corpus import colorizer_crops
from pipelines.sample_figure import evenly_spaced

ROW_STEP = 4  # rows shown: 0, 4, …, 24


def chroma_by_row(bins: torch.Tensor) -> torch.Tensor:
    """bins (B, 2, 28, 28) → mean |ab| per row (28,), in Lab units."""
    return dequantize_ab(bins).norm(dim=1).mean(dim=(0, 2))


@torch.no_grad()
def teacher_forced_draws(model: PixColor, lightness: torch.Tensor, bins: torch.Tensor,
                         generator: torch.Generator) -> torch.Tensor:
    """Every value drawn from p(value | the true values before it, gray image): (B, 2, 28, 28)."""
    logits = model.decoder.logits(bins, model.conditioning(lightness))  # (B, K, C, H, W)
    batch, k, c, h, w = logits.shape
    gumbel, _ = draw_noise(batch, h * w * c, k, generator, logits.device)  # raster order: (B, H·W·C, K)
    per_value = logits.permute(0, 3, 4, 2, 1).reshape(-1, k)  # the same order
    return sample_from_logits(per_value, 1.0, gumbel.reshape(-1, k)).view(batch, h, w, c).permute(0, 3, 1, 2)


def main(argv: list[str] | None = None) -> dict[str, list[float]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", required=True, help="PixColor run folder")
    parser.add_argument("--data", required=True, help="photo folder or corpus")
    parser.add_argument("--split", default="val", choices=["train", "val", "test", "heldout"])
    parser.add_argument("--images", type=int, default=32, help="evenly spaced crops")
    parser.add_argument("--noise", type=float, action="append", default=None,
                        help="context noise to sample with (repeatable; default 0 and the checkpoint's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    args = parser.parse_args(argv)

    device = resolve_device(args.device)
    model, _ = load_model(args.checkpoint, device=device)
    if not isinstance(model, PixColor):
        raise SystemExit(f"{args.checkpoint} holds no colorizer")
    model.eval()
    crops = colorizer_crops(args.data, args.split, train=False, size=model.config.working_size,
                            crops_per_image=1)
    items = [crops[i] for i in evenly_spaced(args.images, len(crops))]
    lightness = torch.stack([item["l"] for item in items]).to(device)
    truth = torch.stack([item["bins"] for item in items]).to(device)

    rows = {"truth": truth,
            "teacher-forced": teacher_forced_draws(model, lightness, truth,
                                                   torch.Generator().manual_seed(args.seed))}
    trained = model.config.context_noise
    for noise in args.noise or sorted({0.0, trained}):
        model.config.context_noise = noise
        rows[f"sampled, context noise {noise:g}"] = model.sample_lowres(
            lightness, 1, generator=torch.Generator().manual_seed(args.seed))
    model.config.context_noise = trained

    print(f"mean |ab| of {len(items)} {args.split} crops at {LOWRES_SIZE}×{LOWRES_SIZE} "
          f"(the checkpoint's context noise: {trained:g})")
    print("| | all | ratio to truth | rows " + ", ".join(map(str, range(0, LOWRES_SIZE, ROW_STEP))) + " |")
    print("|---|---|---|---|")
    results, reference = {}, chroma_by_row(truth).mean().item()
    for name, bins in rows.items():
        by_row = chroma_by_row(bins)
        results[name] = by_row.tolist()
        shown = ", ".join(f"{v:.0f}" for v in by_row[::ROW_STEP].tolist())
        print(f"| {name} | {by_row.mean().item():.1f} | {by_row.mean().item() / reference:.2f}× | {shown} |")
    return results


if __name__ == "__main__":
    main()
