"""Held-out negative log-likelihood in bits/dim, by teacher forcing.

PixelRNN Sec. 5.1: the cross-entropy summed over every value of every image,
divided by the number of values (N·H·W·C) and by ln 2. All positions are
scored in one parallel forward pass per batch; no sampling is involved.

    python -m pipelines.evaluate_nll --checkpoint RUN_DIR --data DIR [--split test]
"""

from __future__ import annotations

import argparse
import json
import math

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from colorize.checkpoint import load_model
from colorize.device import DEVICE_CHOICES, resolve_device
from pipelines.corpus import crops


@torch.no_grad()
def bits_per_dim(model, dataset, batch_size: int = 64, device: str | torch.device = "cpu",
                 progress: bool = False) -> float:
    """Summed cross-entropy / (number of values) / ln 2 over ``dataset``."""
    was_training = model.training
    model.eval()
    total_nats, total_values = 0.0, 0
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False)
    for classes in tqdm(loader, desc="bits/dim", disable=not progress):
        classes = classes.to(device)
        nll = F.cross_entropy(model.logits(classes), classes, reduction="sum")
        total_nats += nll.item()
        total_values += classes.numel()
    model.train(was_training)
    return total_nats / total_values / math.log(2)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="run folder written by a training pipeline")
    parser.add_argument("--data", required=True, help="corpus folder (with train/val/test) or an image folder")
    parser.add_argument("--split", default="test", choices=["train", "val", "test", "heldout"])
    parser.add_argument("--crops-per-image", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0, help="seed of the fixed evaluation crops")
    parser.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    args = parser.parse_args(argv)

    device = resolve_device(args.device)
    model, config = load_model(args.checkpoint, device)
    data = config["data"]
    dataset = crops(args.data, args.split, data["size"], data["channels"], train=False,
                    min_scale=data["min_scale"], crops_per_image=args.crops_per_image, seed=args.seed)
    bpd = bits_per_dim(model, dataset, args.batch_size, device, progress=True)
    result = {
        "model": config["model"],
        "parameters": model.num_parameters(),
        "channels": data["channels"],
        "size": data["size"],
        "split": args.split,
        "images": len(dataset.paths),
        "crops": len(dataset),
        "step": config.get("step"),
        "bits_per_dim": round(bpd, 4),
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
