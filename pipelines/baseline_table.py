"""Train the four baselines with equal budgets and print the bits/dim table.

    python -m pipelines.baseline_table --data DIR --out runs/baselines \
        [--channels rgb ab] [--max-steps 1000] [--batch-size 16] [--jobs 2]

Every model gets the same preset, steps, batch size, learning rate and seed,
on 32×32 RGB crops (256 classes) and on 28×28 quantized ab crops (32
classes). Each run is a plain ``pipelines.train_baseline`` process followed by
``pipelines.evaluate_nll`` on the test split; the exact commands are printed
and stored. Runs that already reached ``--max-steps`` are only re-evaluated,
so an interrupted table resumes where it stopped. ``--jobs`` runs that many
trainings side by side, one thread each.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from colorize.checkpoint import CONFIG_FILE, WEIGHTS_FILE

MODELS = ["pixelcnn", "row_lstm", "diagonal_bilstm", "gated_pixelcnn"]
SIZES = {"rgb": 32, "ab": 28}
# Rough cost per step, so the slowest runs start first and the jobs end together.
COST = {"diagonal_bilstm": 4, "gated_pixelcnn": 3, "pixelcnn": 2, "row_lstm": 2}


def run_one(model: str, channels: str, args: argparse.Namespace) -> dict:
    """Train (or finish) one baseline, then score it; returns its table row."""
    out = Path(args.out) / f"{model}_{channels}"
    train = [
        sys.executable, "-m", "pipelines.train_baseline", "--model", model, "--data", args.data,
        "--out", str(out), "--size", str(SIZES[channels]), "--channels", channels,
        "--preset", args.preset, "--max-steps", str(args.max_steps),
        "--batch-size", str(args.batch_size), "--lr", str(args.lr), "--seed", str(args.seed),
    ]
    evaluate = [sys.executable, "-m", "pipelines.evaluate_nll", "--checkpoint", str(out),
                "--data", args.data, "--split", "test"]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    config_path = out / CONFIG_FILE
    done = config_path.exists() and json.loads(config_path.read_text()).get("step") == args.max_steps
    wall = None
    if not done:
        if (out / WEIGHTS_FILE).exists():
            train.append("--resume")
        out.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        with open(out / "train.log", "a") as log:
            subprocess.run(train, check=True, env=env, stdout=log, stderr=subprocess.STDOUT)
        wall = time.perf_counter() - start
        (out / "wall_seconds.txt").write_text(f"{wall:.0f}\n")
    elif (out / "wall_seconds.txt").exists():
        wall = float((out / "wall_seconds.txt").read_text())
    result = subprocess.run(evaluate, check=True, env=env, capture_output=True, text=True)
    row = json.loads(result.stdout.strip().splitlines()[-1])
    row.update(wall_seconds=wall, train_command=" ".join(train[1:]), eval_command=" ".join(evaluate[1:]))
    print(f"done {model} {channels}: {row['bits_per_dim']} bits/dim", flush=True)
    return row


def markdown(rows: list[dict]) -> str:
    lines = ["| model | data | parameters | test bits/dim | train wall time |", "|---|---|---:|---:|---:|"]
    for row in rows:
        wall = "" if row["wall_seconds"] is None else f"{row['wall_seconds'] / 60:.1f} min"
        data = f"{row['size']}×{row['size']} {row['channels']}"
        lines.append(f"| {row['model']} | {data} | {row['parameters']:,} | {row['bits_per_dim']:.3f} | {wall} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", default="runs/baselines")
    parser.add_argument("--channels", nargs="+", default=["rgb", "ab"], choices=sorted(SIZES))
    parser.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    parser.add_argument("--preset", default="small")
    parser.add_argument("--max-steps", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1, help="trainings run side by side")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per training")
    args = parser.parse_args(argv)

    runs = [(m, c) for c in args.channels for m in args.models]
    by_cost = sorted(runs, key=lambda run: (-SIZES[run[1]], -COST[run[0]]))
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        finished = dict(zip(by_cost, pool.map(lambda run: run_one(*run, args), by_cost)))
    rows = [finished[run] for run in runs]
    table = markdown(rows)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "table.md").write_text(table + "\n")
    (Path(args.out) / "results.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(table)
    return rows


if __name__ == "__main__":
    main()
