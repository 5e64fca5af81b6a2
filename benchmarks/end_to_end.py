"""End to end: where a ``colorize()`` call spends its time, quiet and beside a busy process.

    python -m benchmarks.end_to_end [--checkpoint PATH] [--samples 8] [--sizes 512x512 2048x1536 4000x3000]
        [--repeats 3] [--batch-photos 8] [--compare-with REV]

Prints, for each photo size, with N samples (best of ``--repeats``):

* the stage table of one ``Colorizer.colorize``: L at full resolution, the
  backbone and adapter, decoder sampling (cached), refinement, the
  full-resolution merge of the N samples, and the whole call;
* ``colorize()`` of the smallest size quiet, then while another process
  keeps one core busy (a pure-Python loop), and the ratio;
* the first merge in a new process, which compiles the merge's loop (an
  empty numba cache) or loads it from numba's cache;
* ``python -m colorize batch`` on a folder of ``--batch-photos`` photos of
  1024×768, 4 samples each: photos per second (PNG outputs), from the
  command's own summary, which leaves out loading torch and the model.

``--compare-with REV`` also times the totals with the package as it is at git
revision REV (a temporary worktree, in a subprocess, the same photos and
settings), so that a change is measured side by side with what it replaces,
in one run on one machine. Only public entry points are timed there.
Photos are scikit-image's ``chelsea`` resized, so the model sees a real image.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def photo(width: int, height: int) -> np.ndarray:
    """scikit-image's cat at width × height, uint8 RGB."""
    import skimage.data

    return np.asarray(Image.fromarray(skimage.data.chelsea()).resize((width, height), Image.Resampling.BICUBIC))


def best_of(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def stage_times(colorizer, rgb: np.ndarray, samples: int, repeats: int) -> dict[str, float]:
    """Seconds per stage of one colorize() of ``rgb``, each stage timed on its own."""
    from colorize.models.pixcolor import LOWRES_SIZE
    from colorize.nn.resize import resize
    from colorize.threads import torch_threads

    model = colorizer.model
    size = model.config.working_size
    times = {}
    with torch.no_grad(), torch_threads(colorizer.threads):
        times["L at full resolution"] = best_of(lambda: colorizer._lightness(rgb), repeats)
        lightness = colorizer._lightness(rgb)
        times["backbone + adapter"] = best_of(lambda: model.conditioning(lightness), repeats)
        cond = model.conditioning(lightness)
        times["decoder sampling (cached)"] = best_of(lambda: model.decoder.sample(
            samples, LOWRES_SIZE, LOWRES_SIZE, cond=cond, generator=torch.Generator().manual_seed(0),
            context_noise=model.config.context_noise), repeats)
        bins = model.sample_lowres(lightness, samples, generator=torch.Generator().manual_seed(0))
        l_work = resize(lightness, size, size)
        bf16 = colorizer.refine_bf16
        label = f"refinement (batch {samples} at {size}², {'bf16' if bf16 else 'float32'})"
        times[label] = best_of(lambda: model.refine(l_work, bins, bf16=bf16), repeats)
        ab_work = model.refine(l_work, bins, bf16=bf16)
        bits = torch.zeros(samples)
        out = np.empty((*rgb.shape[:2], 3), np.uint8)

        def merge():
            for _ in colorizer.iter_merged(lightness, ab_work, bits, out=out):
                pass

        times[f"full-resolution merge × {samples}"] = best_of(merge, repeats)
    return times


@contextlib.contextmanager
def busy_core():
    """Another process that keeps one core busy while the block runs."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)  # let the scheduler see it
        yield
    finally:
        spinner.kill()
        spinner.wait()


def batch_rate(checkpoint: str | None, photos: int, samples: int, python: str = sys.executable,
               env: dict | None = None, cwd: Path | None = None) -> float:
    """Photos per second of ``python -m colorize batch`` on ``photos`` 1024×768 PNGs, N samples,
    run in ``cwd`` (``-m`` finds the package there before PYTHONPATH)."""
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (folder / "in").mkdir()
        base = photo(1024, 768)
        for n in range(photos):
            Image.fromarray(np.roll(base, 37 * n, axis=1)).save(folder / "in" / f"photo_{n}.png")
        command = [python, "-m", "colorize", "batch", str(folder / "in"), str(folder / "out"),
                   "--samples", str(samples), "--seed", "0"]
        if checkpoint:
            command += ["--checkpoint", checkpoint]
        # The command's own summary times the colorizing, without loading torch and the model:
        # "8 done, 0 skipped, 0 failed, 0 unsupported (8 in all, 12.3 s)".
        done = subprocess.run(command, check=True, env=env, capture_output=True, text=True, cwd=cwd or REPO)
        seconds = float(done.stdout.strip().splitlines()[-1].rsplit(", ", 1)[1].split(" s)")[0])
        return photos / seconds


def first_merge_times() -> tuple[float, float]:
    """Seconds of the first merge in a new process (a tiny photo): with an empty numba cache, so
    the loop is compiled, then loading what that run cached."""
    script = ("import time, numpy as np, torch; from colorize.merge_kernel import merge_into; "
              "start = time.perf_counter(); "
              "merge_into(np.empty((8, 8, 3), np.uint8), np.zeros((8, 8), np.float32), torch.zeros(2, 4, 4)); "
              "print(time.perf_counter() - start)")
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}  # numba looks there before anywhere else
        runs = [subprocess.run([sys.executable, "-c", script], check=True, env=env, capture_output=True,
                               text=True, cwd=REPO).stdout for _ in range(2)]
    cold, warm = (float(run.strip().splitlines()[-1]) for run in runs)
    return cold, warm


def totals(checkpoint: str | None, sizes: list[tuple[int, int]], samples: int, repeats: int) -> dict:
    """The public entry point's time per size, and quiet/loaded at the first size."""
    from colorize import Colorizer

    colorizer = Colorizer.from_pretrained(checkpoint, device="cpu")
    result = {}
    for width, height in sizes:
        rgb = photo(width, height)
        colorizer.colorize(rgb, num_samples=samples, seed=0)  # warm
        result[f"{width}x{height}"] = best_of(lambda: colorizer.colorize(rgb, num_samples=samples, seed=0),
                                              repeats)
    width, height = sizes[0]
    rgb = photo(width, height)
    with busy_core():
        result["loaded"] = best_of(lambda: colorizer.colorize(rgb, num_samples=samples, seed=0), repeats)
    return result


def other_revision_totals(rev: str, args) -> dict:
    """:func:`totals` and the batch rate with the package at git revision ``rev``, in a worktree."""
    with tempfile.TemporaryDirectory() as folder:
        tree = Path(folder) / "tree"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), rev], check=True,
                       capture_output=True)
        try:
            env = {**os.environ, "PYTHONPATH": str(tree)}  # its colorize package before the installed one
            checkpoint = None if args.checkpoint is None else str(Path(args.checkpoint).resolve())
            # This very file, loaded by path, runs against the other tree's package.
            script = ("import importlib.util, json; "
                      f"spec = importlib.util.spec_from_file_location('end_to_end', {__file__!r}); "
                      "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module); "
                      f"print(json.dumps(module.totals({checkpoint!r}, {args.sizes!r}, {args.samples}, "
                      f"{args.repeats})))")
            out = subprocess.run([sys.executable, "-c", script], check=True, env=env, capture_output=True,
                                 text=True, cwd=tree).stdout
            result = json.loads(out.strip().splitlines()[-1])
            result["batch"] = batch_rate(checkpoint, args.batch_photos, 4, env=env, cwd=tree)
            return result
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], check=False,
                           capture_output=True)


def parse_size(text: str) -> tuple[int, int]:
    width, height = (int(v) for v in text.lower().split("x"))
    return width, height


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=None, help="colorizer folder (default: the shipped model)")
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--sizes", type=parse_size, nargs="+",
                        default=[(512, 512), (2048, 1536), (4000, 3000)])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-photos", type=int, default=8)
    parser.add_argument("--compare-with", default=None, metavar="REV",
                        help="also time the package at this git revision, in the same run")
    args = parser.parse_args(argv)
    from colorize import Colorizer

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, N = {args.samples}")
    colorizer = Colorizer.from_pretrained(args.checkpoint, device="cpu")
    tables = {}
    for width, height in args.sizes:
        rgb = photo(width, height)
        colorizer.colorize(rgb, num_samples=args.samples, seed=0)  # warm: allocations, caches
        times = stage_times(colorizer, rgb, args.samples, args.repeats)
        times["total: colorize()"] = best_of(lambda: colorizer.colorize(rgb, num_samples=args.samples, seed=0),
                                             args.repeats)
        tables[f"{width}x{height}"] = times
    names = list(next(iter(tables.values())))
    print("\n| stage (s, best of %d) | " % args.repeats + " | ".join(tables) + " |")
    print("|---|" + "---|" * len(tables))
    for name in names:
        print(f"| {name} | " + " | ".join(f"{tables[size][name]:.3f}" for size in tables) + " |")
    cold, warm = first_merge_times()
    print(f"\nthe first merge in a new process: {cold:.2f} s compiling the loop, {warm:.2f} s loading it "
          "from numba's cache")
    ours = totals(args.checkpoint, args.sizes, args.samples, args.repeats)
    ours["batch"] = batch_rate(args.checkpoint, args.batch_photos, 4)
    first = f"{args.sizes[0][0]}x{args.sizes[0][1]}"
    print(f"\ncolorize() of {first}, N = {args.samples}: quiet {ours[first]:.3f} s, beside a busy process "
          f"{ours['loaded']:.3f} s ({ours['loaded'] / ours[first]:.2f}×)")
    print(f"colorize batch, {args.batch_photos} photos of 1024×768, 4 samples: {ours['batch']:.3f} photos/s")
    result = {"stages": tables, "totals": ours}
    if args.compare_with:
        theirs = other_revision_totals(args.compare_with, args)
        result["compared"] = {"revision": args.compare_with, "totals": theirs}
        print(f"\n| side by side with {args.compare_with} | {args.compare_with} | this tree | speed-up |")
        print("|---|---|---|---|")
        for key in [f"{w}x{h}" for w, h in args.sizes] + ["loaded"]:
            print(f"| colorize() {key} (s) | {theirs[key]:.3f} | {ours[key]:.3f} | {theirs[key] / ours[key]:.2f}× |")
        print(f"| batch (photos/s) | {theirs['batch']:.3f} | {ours['batch']:.3f} | "
              f"{ours['batch'] / theirs['batch']:.2f}× |")
        print(f"| loaded / quiet | {theirs['loaded'] / theirs[first]:.2f}× | {ours['loaded'] / ours[first]:.2f}× | |")
    return result


if __name__ == "__main__":
    main()
