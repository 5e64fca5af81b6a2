"""Server memory when a browser uploads huge photos to the web page.

    python -m benchmarks.webui_upload_memory              # untrained tiny model
    python -m benchmarks.webui_upload_memory --checkpoint colorize/weights/default

Starts ``python -m webui`` in its own process, then drives Debian's chromium
(through playwright) as a user would, one step at a time:

1. upload a 12000×12000 PNG (144 megapixels, a few hundred KB of smooth
   gray): the page must refuse it before decoding it;
2. upload a photo just under the 50-megapixel cap (8660×5773, colour): the page
   shows it and makes its hint view;
3. colorize that photo, 2 samples (and the map of where they disagree).

After each step it prints the server's resident memory now (``VmRSS``) and
its peak so far (``VmHWM``), both from ``/proc``, so the memory handed back
after a request shows too.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.webui_load import free_port, tiny_checkpoint

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of ``pid`` in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return tuple(int(fields[key].split()[0]) / 1024 for key in ("VmRSS", "VmHWM"))


def smooth_photo(path: Path, width: int, height: int, colour: bool) -> None:
    """A smooth image built a band of rows at a time (compresses to little, decodes to a lot)."""
    xx = np.arange(width, dtype=np.float32)
    bands = []
    for top in range(0, height, 1024):
        yy = np.arange(top, min(top + 1024, height), dtype=np.float32)[:, None]
        bands.append(((np.sin(xx / 300) * np.cos(yy / 200) + 1) * 120).astype(np.uint8))
    gray = np.concatenate(bands)
    image = Image.fromarray(np.dstack([gray, 255 - gray, gray // 2]) if colour else gray)
    image.save(path)


def wait_until_up(url: str, server: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited: {server.stderr.read().decode()[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the server did not come up at {url}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.webui_upload_memory",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=None, help="a colorizer checkpoint (default: untrained tiny)")
    args = parser.parse_args(argv)
    if not CHROMIUM.is_file():
        raise SystemExit(f"this benchmark drives {CHROMIUM}: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        checkpoint = args.checkpoint or tiny_checkpoint(tmp / "tiny")
        huge, under = tmp / "huge.png", tmp / "under_cap.png"
        smooth_photo(huge, 12000, 12000, colour=False)
        smooth_photo(under, 8660, 5773, colour=True)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [sys.executable, "-m", "webui", "--port", str(port), "--checkpoint", str(checkpoint), "--device", "cpu"],
            cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        rows = []
        try:
            wait_until_up(url, server)
            rows.append(("server started", *memory_mb(server.pid), ""))
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                page = browser.new_page()
                page.set_default_timeout(600_000)
                page.goto(url)
                # 1. The 144-megapixel upload: refused with one line, next to the button.
                page.locator("#photo input[type=file]").set_input_files(huge)
                page.wait_for_function("() => document.querySelector('#status').innerText.includes('huge')")
                rows.append((f"12000×12000 PNG ({huge.stat().st_size / 1e3:.0f} KB) uploaded",
                             *memory_mb(server.pid), page.locator("#status").inner_text().strip()[:90]))
                # 2. A photo just under the cap: shown, with its hint view.
                page.locator("#photo input[type=file]").set_input_files(under)
                start = time.perf_counter()
                for _ in range(1200):
                    src = page.locator("#photo img").first.get_attribute("src") if \
                        page.locator("#photo img").count() else None
                    if src and "under_cap" in src and "gradio_api/file" in src:
                        break
                    page.wait_for_timeout(250)
                page.wait_for_timeout(2000)  # the hint view's round trip settles
                rows.append(("8660×5773 (50 MP) photo: shown, hint view made", *memory_mb(server.pid),
                             f"{time.perf_counter() - start:.1f} s"))
                # 3. Colorize it, 2 samples.
                page.locator("#settings .label-wrap").first.click()
                page.locator("#samples input[type=number]").fill("2")
                page.locator("#samples input[type=number]").press("Enter")
                page.locator("#seed textarea, #seed input").first.fill("1")
                start = time.perf_counter()
                page.locator("#colorize").click()
                page.locator("#results .thumbnail-item img").nth(1).wait_for()
                rows.append(("…colorized, 2 samples", *memory_mb(server.pid),
                             f"{time.perf_counter() - start:.1f} s"))
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    print("| step | server RSS now (MB) | server peak RSS so far (MB) | |")
    print("|---|---|---|---|")
    for step, now, peak, note in rows:
        print(f"| {step} | {now:.0f} | {peak:.0f} | {note} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
