"""Peak memory of ``python -m colorize batch`` on one large photo (default 50 megapixels).

    python -m benchmarks.batch_memory                   # 50 MP, 2 samples, untrained tiny model
    python -m benchmarks.batch_memory --compare-api     # also Colorizer.colorize on the same file

Each measurement runs in its own child process and reads that child's peak
resident set size from ``os.wait4``, so the photo generation here does not
count. A 12×8 photo through the same command gives the fixed cost (Python,
torch, the model); the difference is what the photo's size costs. The model's
weights do not change the memory at full resolution, so an untrained tiny
model stands in unless ``--checkpoint`` names a real one.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]

API_SCRIPT = """
import sys
from colorize import Colorizer
colorizer = Colorizer.from_pretrained(sys.argv[1], device="cpu")
images = colorizer.colorize(sys.argv[2], num_samples=int(sys.argv[3]), seed=0)
"""


def write_photo(path: Path, megapixels: float) -> tuple[int, int]:
    """A gray-looking colour JPEG of about ``megapixels`` at 3:2, built a band of rows at a time."""
    width = int(round((megapixels * 1e6 * 1.5) ** 0.5))
    height = int(round(megapixels * 1e6 / width))
    xx = np.arange(width, dtype=np.float32)
    rows = []
    for top in range(0, height, 512):
        yy = np.arange(top, min(top + 512, height), dtype=np.float32)[:, None]
        value = (np.sin(xx / 97) * np.cos(yy / 61) + 1) * 110 + (xx + yy) % 31
        rows.append(value.clip(0, 255).astype(np.uint8))
    gray = np.concatenate(rows)
    Image.fromarray(np.dstack([gray, gray, gray])).save(path, quality=90)
    return width, height


def peak_rss_mb(command: list[str]) -> tuple[float, float]:
    """Run ``command`` → (its peak RSS in MB, wall seconds); raises if it fails."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.setdefault("OMP_NUM_THREADS", "1")
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    stderr = child.stderr.read().decode(errors="replace")
    child.stderr.close()
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {child.returncode}:\n{stderr[-2000:]}")
    return usage.ru_maxrss / 1024, seconds  # Linux reports kilobytes


def tiny_checkpoint(folder: Path) -> Path:
    import torch

    from colorize.checkpoint import save_model
    from colorize.models.pixcolor import PixColor

    torch.manual_seed(0)
    save_model(folder, PixColor.from_preset("tiny"))
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megapixels", type=float, default=50.0)
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--checkpoint", default=None, help="default: an untrained tiny model")
    parser.add_argument("--compare-api", action="store_true",
                        help="also measure Colorizer.colorize on the same photo (about 8 GB at 50 MP)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        checkpoint = Path(args.checkpoint) if args.checkpoint else tiny_checkpoint(tmp / "model")
        (tmp / "big").mkdir()
        (tmp / "small").mkdir()
        width, height = write_photo(tmp / "big" / "photo.jpg", args.megapixels)
        Image.new("RGB", (12, 8), (120, 120, 120)).save(tmp / "small" / "photo.jpg")
        # 50 MP is under Pillow's decompression-bomb limit, which the batch keeps.
        assert width * height < Image.MAX_IMAGE_PIXELS, (width * height, Image.MAX_IMAGE_PIXELS)

        def batch(folder: str) -> list[str]:
            return [sys.executable, "-m", "colorize", "batch", str(tmp / folder), str(tmp / f"out_{folder}"),
                    "--samples", str(args.samples), "--seed", "0", "--device", "cpu",
                    "--checkpoint", str(checkpoint)]

        base, _ = peak_rss_mb(batch("small"))
        peak, seconds = peak_rss_mb(batch("big"))
        pixels = width * height
        print(f"photo: {width}x{height} = {pixels / 1e6:.1f} MP JPEG, {args.samples} samples, "
              f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '1')}")
        print(f"colorize batch, 12x8 photo:  peak RSS {base:7.0f} MB  (Python, torch, model)")
        print(f"colorize batch, {pixels / 1e6:.0f} MP photo: peak RSS {peak:7.0f} MB  in {seconds:.0f} s  "
              f"({(peak - base) * 2**20 / pixels:.1f} bytes a pixel over the fixed cost)")
        if args.compare_api:
            api, api_seconds = peak_rss_mb([sys.executable, "-c", API_SCRIPT, str(checkpoint),
                                            str(tmp / "big" / "photo.jpg"), str(args.samples)])
            print(f"Colorizer.colorize, same photo: peak RSS {api:7.0f} MB  in {api_seconds:.0f} s  "
                  f"({(api - base) * 2**20 / pixels:.1f} bytes a pixel)")


if __name__ == "__main__":
    main()
