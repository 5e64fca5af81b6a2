"""Sampling speed: the cached sampler against the naive one and against the compute floor.

    python -m benchmarks.sampling [--samples 1 8 32] [--naive-steps 56] [--device cpu]

For the decoder that the colorizer ships (its config when
``colorize/weights/default`` exists, else the ``small`` preset) at 28×28×2,
conditioned on a random map, and each batch size N, it prints:

* naive: re-running the network for every value. Too slow to run whole, so
  the first ``--naive-steps`` values are timed and the time per step is
  extrapolated to all H·W·C steps (every naive step costs the same);
* cached: a whole sample, best of ``--repeats``;
* the compute floor: the multiply-adds the cached method performs
  (:func:`colorize.models.gated_pixelcnn_cache.cached_multiply_adds`)
  divided by this machine's matmul rate, measured in the same run with a
  large square GEMM; and cached time as a multiple of it.

The weights do not change the work, so random weights time the same.

Then the cost of ranked samples: one ``Colorizer.colorize`` of a
``--photo-size``² photo with the shipped model, N = 4 as drawn against the 4
most likely of M = 16 draws (``select="likely"``), best of ``--repeats``.
The last line is ``cached_vs_naive_speedup_at_8=<ratio>``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from colorize.checkpoint import CONFIG_FILE, read_config
from colorize.colorizer import DEFAULT_MODEL_DIR
from colorize.device import resolve_device
from colorize.models import build_config, model_from_config
from colorize.models.gated_pixelcnn import GatedPixelCNN, GatedPixelCNNConfig
from colorize.models.gated_pixelcnn_cache import cached_multiply_adds
from colorize.models.pixcolor import LOWRES_SIZE
from colorize.sampling import draw_noise, sample, sample_naive


def shipped_decoder_config() -> tuple[GatedPixelCNNConfig, str]:
    """The shipped colorizer's decoder config, or the ``small`` preset's before one ships."""
    if (DEFAULT_MODEL_DIR / CONFIG_FILE).is_file():
        stored = read_config(DEFAULT_MODEL_DIR)
        return model_from_config(stored["model"], stored["config"]).decoder.config, \
            "the shipped model's decoder"
    return build_config("pixcolor", "small").decoder, "the small preset's decoder (no shipped model yet)"


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device: torch.device, repeats: int = 1) -> float:
    """Best wall time of ``repeats`` calls, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        fn()
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return best


def matmul_rate(device: torch.device, size: int = 2048) -> float:
    """Multiply-adds per second of a large float32 GEMM on this device (best of 3)."""
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    a @ b  # warm-up
    return size ** 3 / timed(lambda: a @ b, device, repeats=3)


def selection_cost(side: int, repeats: int, device: torch.device) -> None:
    """Print the time of colorize() with N = 4 drawn against the 4 most likely of 16."""
    from colorize import Colorizer

    colorizer = Colorizer.from_pretrained(device=str(device))
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
    rows = {"drawn, N = 4": {}, "likely, 4 of M = 16": {"select": "likely", "draws": 16}}
    colorizer.colorize(photo, num_samples=1, seed=0)  # warm-up
    times = {name: timed(lambda kw=kw: colorizer.colorize(photo, num_samples=4, seed=0, **kw), device, repeats)
             for name, kw in rows.items()}
    base = times["drawn, N = 4"]
    print(f"ranked samples: colorize() of a {side}×{side} photo, the shipped model")
    print("| pick | s | vs drawn |")
    print("|---|---|---|")
    for name, seconds in times.items():
        print(f"| {name} | {seconds:.2f} | {seconds / base:.2f}× |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, nargs="+", default=[1, 8, 32], help="batch sizes N")
    parser.add_argument("--naive-steps", type=int, default=56,
                        help="naive steps timed per N, then extrapolated (56 = one row of 28×2)")
    parser.add_argument("--repeats", type=int, default=3, help="cached runs per N; the best counts")
    parser.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gemm-size", type=int, default=2048, help="side of the square GEMM that sets the rate")
    parser.add_argument("--photo-size", type=int, default=512,
                        help="side of the photo of the ranked-samples timing; 0 skips it")
    args = parser.parse_args(argv)
    if 8 not in args.samples:
        parser.error("--samples must include 8: the last line reports the speedup at N=8")

    device = resolve_device(args.device)
    torch.manual_seed(args.seed)
    config, source = shipped_decoder_config()
    model = GatedPixelCNN(config).to(device).eval()
    size, steps = LOWRES_SIZE, LOWRES_SIZE * LOWRES_SIZE * config.num_channels
    rate = matmul_rate(device, args.gemm_size)
    print(f"decoder: {source}; hidden {config.hidden}, {config.num_layers} layers, "
          f"{model.num_parameters():,} parameters; {size}×{size}×{config.num_channels} = {steps} steps")
    print(f"device: {device}, torch threads: {torch.get_num_threads()}, "
          f"matmul rate: {rate / 1e9:.1f} G multiply-adds/s ({args.gemm_size}² float32 GEMM)")
    print(f"naive: the first {args.naive_steps} steps timed, extrapolated to all {steps}")
    print()
    print("| N | naive (s) | cached (s) | speedup | floor (s) | cached / floor |")
    print("|---|---|---|---|---|---|")

    speedups = {}
    for n in args.samples:
        cond = torch.randn(n, config.cond_map_channels, size, size, device=device) \
            if config.cond_map_channels else None

        def cached():
            sample(model, n, size, size, cond=cond, generator=torch.Generator().manual_seed(0),
                   method="cached")

        def naive():
            noise, _ = draw_noise(n, steps, config.num_classes, torch.Generator().manual_seed(0), device)
            sample_naive(model, noise, size, size, cond, num_steps=args.naive_steps)

        sample(model, n, 4, 4, cond=None if cond is None else cond[:, :, :4, :4],
               method="cached")  # warm-up
        cached_s = timed(cached, device, args.repeats)
        naive_s = timed(naive, device) * steps / args.naive_steps
        floor_s = cached_multiply_adds(config, n, size, size) / rate
        speedups[n] = naive_s / cached_s
        print(f"| {n} | {naive_s:.1f} | {cached_s:.3f} | {speedups[n]:.0f}× | {floor_s:.3f} | "
              f"{cached_s / floor_s:.1f}× |")
    if args.photo_size:
        print()
        selection_cost(args.photo_size, args.repeats, device)
    print()
    print(f"cached_vs_naive_speedup_at_8={speedups[8]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
