"""Training throughput of the colorizer's decoder stage, in images per second.

    python -m benchmarks.training [--data corpus] [--processes 1 2] [--steps 10]
    python -m benchmarks.training --one-process-table --data PHOTOS [--backbone lite2]

For each process count P it starts P processes with ``torchrun`` (plain
``python`` for 1), each running the real training loop
(:class:`pipelines.trainer.Trainer`, DDP when P > 1) on the ``small``
colorizer's decoder stage with the same global batch, and times ``--steps``
steps after ``--warmup`` untimed ones. The CPU's cores are shared out: each
of P processes gets cores / P threads, so the rows compare ways of using the
same machine. With a GPU, a row for one GPU (bf16 autocast) is added.

``--one-process-table`` instead measures one process in every combination of
1 or 2 threads, bf16 autocast off or on, and 0 or 1 loader worker (photos
decoded in the training process or beside it): the table behind the
training recipe.

Data: ``--data`` (a corpus or photo folder), or generated photos when it is
not given; loading and cropping are part of the measured step, as in real
training.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from colorize.models.conditioning import BACKBONES
from pipelines.corpus import colorizer_crops
from pipelines.distributed import setup, teardown
from pipelines.train_colorizer import batch_losses
from pipelines.trainer import Trainer, TrainerConfig


def write_photos(folder: Path, count: int = 32, size: int = 320) -> Path:
    """Smooth random colour photos, so a run needs no corpus."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0:size, 0:size] / size
    for n in range(count):
        channels = [np.sin(rng.uniform(1, 9) * xx + rng.uniform(0, 3)) * np.cos(rng.uniform(1, 9) * yy)
                    for _ in range(3)]
        Image.fromarray(((np.stack(channels, -1) + 1) * 127.5).astype(np.uint8)).save(folder / f"{n}.png")
    return folder


def worker(args: argparse.Namespace) -> None:
    """One process of a measurement: train, time, and (rank 0) print ``images_per_s=<x>``."""
    from colorize.models import build_model
    from colorize.models.pixcolor import PRESETS

    ranks, device = setup(args.device)
    try:
        torch.manual_seed(0)
        model = build_model("pixcolor", args.preset,
                            conditioning={**PRESETS[args.preset]["conditioning"], "backbone": args.backbone})
        data = colorizer_crops(args.data, "train", train=True, seed=0)
        config = TrainerConfig(max_steps=args.warmup + args.steps, batch_size=args.batch_size,
                               checkpoint_every=10**9, log_every=10**9, num_workers=args.num_workers,
                               bf16=args.bf16)
        with tempfile.TemporaryDirectory() as run_dir:
            trainer = Trainer(model, data, lambda m, b: (batch_losses(m, "decoder", b)[0], {}), run_dir,
                              config, device, parameters=model.stage_parameters("decoder"),
                              stage="decoder", ranks=ranks)
            trainer.fit(stop_after=args.warmup)
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            trainer.fit(stop_after=args.steps)  # ends with one checkpoint write, as a real run's steps do
            if device.type == "cuda":
                torch.cuda.synchronize()
            seconds = time.perf_counter() - start
        if ranks.is_main:
            print(f"images_per_s={args.steps * args.batch_size / seconds:.3f} "
                  f"seconds_per_step={seconds / args.steps:.4f}", flush=True)
    finally:
        teardown()


def measure(args: argparse.Namespace, processes: int, device: str, threads: int,
            bf16: bool | None = None, num_workers: int | None = None) -> tuple[float, float]:
    """(images/s, s/step) of one configuration, from a fresh set of processes."""
    num_workers = args.num_workers if num_workers is None else num_workers
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone",
                 f"--nproc_per_node={processes}"] if processes > 1 else [sys.executable])
    command = [*launcher, "-m", "benchmarks.training", "--worker", "--data", str(args.data),
               "--preset", args.preset, "--batch-size", str(args.batch_size), "--steps", str(args.steps),
               "--warmup", str(args.warmup), "--device", device, "--num-workers", str(num_workers),
               "--backbone", args.backbone]
    if bf16 is not None:
        command.append("--bf16" if bf16 else "--no-bf16")
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": os.getcwd()}
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    found = re.search(r"images_per_s=([\d.]+) seconds_per_step=([\d.]+)", result.stdout)
    if result.returncode != 0 or found is None:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    return float(found.group(1)), float(found.group(2))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="corpus or photo folder (default: generated photos)")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--batch-size", type=int, default=16, help="the global batch")
    parser.add_argument("--steps", type=int, default=10, help="timed steps")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    parser.add_argument("--num-workers", type=int, default=0)
    parser.add_argument("--backbone", default="lite0", choices=sorted(BACKBONES))
    parser.add_argument("--bf16", dest="bf16", action="store_true", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--no-bf16", dest="bf16", action="store_false", help=argparse.SUPPRESS)
    parser.add_argument("--one-process-table", action="store_true",
                        help="one process: threads 1/2 × bf16 off/on × loader workers 0/1")
    parser.add_argument("--device", default="cpu", help=argparse.SUPPRESS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args)
        return 0

    with tempfile.TemporaryDirectory() as scratch:
        if args.data is None:
            args.data = write_photos(Path(scratch) / "photos")
        cores = os.cpu_count() or 1
        print(f"decoder stage, {args.preset} preset, {args.backbone} backbone, global batch "
              f"{args.batch_size}, {args.steps} timed steps after {args.warmup}; {cores} CPU cores; "
              f"data: {args.data}")
        print()
        if args.one_process_table:
            one_process_table(args)
            return 0
        print("| setup | processes | threads each | s/step | images/s | vs 1 process |")
        print("|---|---|---|---|---|---|")
        base = None
        for processes in args.processes:
            threads = max(1, cores // processes)
            rate, step = measure(args, processes, "cpu", threads)
            base = base or rate
            print(f"| CPU | {processes} | {threads} | {step:.3f} | {rate:.1f} | {rate / base:.2f}× |", flush=True)
        if torch.cuda.is_available():
            rate, step = measure(args, 1, "cuda", max(1, cores))
            print(f"| 1 GPU ({torch.cuda.get_device_name(0)}), bf16 | 1 | {cores} | {step:.3f} | "
                  f"{rate:.1f} | {rate / base:.2f}× |")
        else:
            print("\nno GPU here: the single-GPU row needs one")
    return 0


def one_process_table(args: argparse.Namespace) -> None:
    """Rows of threads × bf16 × loader workers, one process each, with the ratio to the first row."""
    print("| threads | bf16 autocast | loader workers | s/step | images/s | vs first row |")
    print("|---|---|---|---|---|---|")
    base = None
    for threads in (1, 2):
        for bf16 in (False, True):
            for workers in (0, 1):
                rate, step = measure(args, 1, "cpu", threads, bf16=bf16, num_workers=workers)
                base = base or rate
                print(f"| {threads} | {'on' if bf16 else 'off'} | {workers} | {step:.3f} | {rate:.1f} | "
                      f"{rate / base:.2f}× |", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
