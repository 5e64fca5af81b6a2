"""Load check of the web page: many users at once on one server, through its API.

    python -m benchmarks.webui_load                          # 20 requests, untrained tiny model
    python -m benchmarks.webui_load --checkpoint runs/pixcolor --requests 20

Starts the app on a free loopback port, opens one ``gradio_client`` per
simulated user, releases all requests at once from threads, and checks that
every one completes with the right number of images at the photo's size. It
prints the latency distribution (submit to result, so queueing included) and
the total wall time. The server colorizes one request at a time
(``CONCURRENCY``), so latencies spread up to about requests × one call's time;
the queue holds ``QUEUE_SIZE`` requests, more are refused.
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from colorize import Colorizer
from colorize.checkpoint import save_model
from colorize.image_io import open_image
from colorize.models.pixcolor import PixColor
from webui.app import CONCURRENCY, QUEUE_SIZE, build_app, launch


def image_size(path: str) -> tuple[int, int]:
    """(width, height) of a result file, from its header."""
    with open_image(path) as img:
        return img.size


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tiny_checkpoint(folder: Path) -> Path:
    """An untrained tiny colorizer saved in ``folder``: the web page's memory and queueing do
    not depend on the weights."""
    torch.manual_seed(0)
    save_model(folder, PixColor.from_preset("tiny"))
    return folder


def write_photo(path: Path, width: int, height: int) -> None:
    yy, xx = np.mgrid[0:height, 0:width] / max(width, height)
    rgb = np.stack([np.sin(4 * xx + 1), np.cos(3 * yy), np.sin(5 * (xx + yy))], -1)
    Image.fromarray(((rgb + 1) * 127.5).astype(np.uint8)).save(path)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.webui_load", description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=None, help="a colorizer checkpoint (default: untrained tiny model)")
    parser.add_argument("--requests", type=int, default=20, help="concurrent requests (default: 20)")
    parser.add_argument("--samples", type=int, default=2, help="samples per request (default: 2)")
    parser.add_argument("--size", default="64x48", help="the photo's WIDTHxHEIGHT (default: 64x48)")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    if args.requests > QUEUE_SIZE + CONCURRENCY:
        parser.error(f"the queue holds {QUEUE_SIZE} requests; ask for at most {QUEUE_SIZE + CONCURRENCY}")

    from gradio_client import Client, handle_file

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        checkpoint = args.checkpoint or tiny_checkpoint(tmp / "tiny")
        photo = tmp / "photo.png"
        write_photo(photo, width, height)
        colorizer = Colorizer.from_pretrained(checkpoint, device="auto")
        app = launch(build_app(colorizer, examples_dir=None), port=free_port(), block=False, quiet=True)
        try:
            # One client per simulated user, connected before the clock starts.
            clients = [Client(app.local_url, verbose=False, download_files=str(tmp / f"user{n}"))
                       for n in range(args.requests)]
            start_line = threading.Barrier(args.requests)
            # One request alone first: warms the server up, and is the unit the latencies compare to.
            alone_start = time.perf_counter()
            clients[0].predict(handle_file(str(photo)), args.samples, 1.0, "0", "as drawn", "", api_name="/colorize")
            alone = time.perf_counter() - alone_start

            def one_request(n: int) -> float:
                start_line.wait()
                start = time.perf_counter()
                gallery, seed, _ = clients[n].predict(handle_file(str(photo)), args.samples, 1.0, str(n),
                                                   "as drawn", "", api_name="/colorize")
                latency = time.perf_counter() - start
                sizes = {image_size(item["image"]) for item in gallery}
                if int(seed) != n or len(gallery) != args.samples or sizes != {(width, height)}:
                    raise AssertionError(f"request {n}: seed {seed}, {len(gallery)} images of sizes {sizes}")
                return latency

            wall_start = time.perf_counter()
            with ThreadPoolExecutor(args.requests) as pool:
                futures = [pool.submit(one_request, n) for n in range(args.requests)]
                failures, latencies = [], []
                for future in futures:
                    try:
                        latencies.append(future.result())
                    except Exception as err:  # reported below, all of them
                        failures.append(f"{type(err).__name__}: {err}")
            wall = time.perf_counter() - wall_start
        finally:
            app.close()

    print(f"{args.requests} concurrent requests, {args.samples} samples of a {width}×{height} photo each, "
          f"device {colorizer.device}, checkpoint {args.checkpoint or 'untrained tiny'}")
    print(f"one request alone: {alone:.2f} s")
    print(f"completed: {len(latencies)}/{args.requests}, failed: {len(failures)}")
    for failure in failures:
        print(f"  {failure}")
    if latencies:
        print("latency s: " + "  ".join(f"{name} {value:.2f}" for name, value in [
            ("min", min(latencies)), ("p50", percentile(latencies, 50)),
            ("p90", percentile(latencies, 90)), ("max", max(latencies))]))
    print(f"total wall time: {wall:.2f} s ({args.requests / wall:.2f} requests/s)")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
