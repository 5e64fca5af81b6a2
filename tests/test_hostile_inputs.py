"""Files and arguments built to hang, crash or flood the product: each gets a one-line error or a
right result in seconds, leaves nothing on disk, and never runs Ghostscript."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, PngImagePlugin

from colorize import image_io, limits
from colorize.atomic_write import remove_stale_temporaries, write_bytes_atomically
from colorize.cli import main as cli_main
from colorize.colorizer import Colorizer
from colorize.hints import parse_json, read_hints_file
from colorize.image_io import DecodeTimeout, ImageTooSparse, SparseImageWarning, UnreadableImage, load_array
from colorize.models.pixcolor import PixColor
from colorize.photo_lock import lock_path

ROOT = Path(__file__).resolve().parents[1]
# An EPS program that never ends: Pillow would hand it to Ghostscript, which would spin forever.
LOOPING_EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\n{ } loop\n"


@pytest.fixture(scope="module")
def colorizer():
    torch.manual_seed(0)
    return Colorizer(PixColor.from_preset("tiny"), torch.device("cpu"), threads=1)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, colorizer):
    from colorize.checkpoint import save_model

    folder = tmp_path_factory.mktemp("tiny")
    save_model(folder, colorizer.model)
    return folder


def write_photo(path: Path, size=(24, 16)) -> Path:
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


def run_batch(in_dir: Path, out_dir: Path, checkpoint: Path, *extra: str) -> tuple[int, str, str]:
    """``python -m colorize batch`` in a subprocess with a hard time bound: a hang fails the test."""
    done = subprocess.run(
        [sys.executable, "-m", "colorize", "batch", str(in_dir), str(out_dir), "--samples", "1", "--seed", "0",
         "--checkpoint", str(checkpoint), "--device", "cpu", "--threads", "1", *extra],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
        env={**os.environ, "OMP_NUM_THREADS": "1"})
    return done.returncode, done.stdout, done.stderr


# 1-3. Only the supported formats are decoded, whatever the name; EPS never reaches Ghostscript.

@pytest.mark.parametrize("head, kind", [(LOOPING_EPS, "PostScript or EPS"), (b"%PDF-1.4\n%\xe2\xe3\n", "PDF"),
                                        (b"\xc5\xd0\xd3\xc6" + bytes(28), "EPS")])
def test_postscript_and_pdf_named_jpg_are_refused_by_their_real_format(tmp_path, monkeypatch, head, kind):
    from PIL import EpsImagePlugin

    def no_ghostscript(*args, **kwargs):
        raise AssertionError("Ghostscript was asked to run")

    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", no_ghostscript)
    path = tmp_path / "photo.jpg"
    path.write_bytes(head)
    with pytest.raises(UnreadableImage) as caught:
        load_array(path)
    message = str(caught.value)
    assert message.startswith("photo.jpg: ") and kind in message and "JPEG" in message
    assert "\n" not in message and str(tmp_path) not in message


@pytest.mark.skipif(shutil.which("gs") is None, reason="Ghostscript (gs) is not installed; .ci/run installs it")
def test_a_looping_eps_named_jpg_ends_at_once_in_the_api_and_batch(tmp_path, checkpoint):
    in_dir = tmp_path / "in"
    in_dir.mkdir()
    (in_dir / "photo.jpg").write_bytes(LOOPING_EPS)
    write_photo(in_dir / "good.png")
    script = ("from colorize import Colorizer\n"
              f"Colorizer.from_pretrained({str(checkpoint)!r}, device='cpu').colorize({str(in_dir / 'photo.jpg')!r})")
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode != 0 and "photo.jpg: a PostScript or EPS file" in done.stderr
    code, out, err = run_batch(in_dir, tmp_path / "out", checkpoint)
    assert time.monotonic() - start < 60
    assert code == 1 and "1 done" in out and "photo.jpg: a PostScript or EPS file" in err
    assert (tmp_path / "out" / "good_0.png").is_file()


def slow_png_load(monkeypatch, seconds: float = 30.0):
    """A PNG decoder that sleeps for files named ``slow*``, as a pathological file's decode would."""
    original = PngImagePlugin.PngImageFile.load

    def load(self):
        if Path(getattr(self, "filename", "") or "").name.startswith("slow"):
            time.sleep(seconds)
        return original(self)

    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", load)


def test_a_decode_that_overruns_its_bound_is_abandoned_with_a_clear_error(tmp_path, monkeypatch, colorizer):
    slow_png_load(monkeypatch)
    monkeypatch.setattr(image_io, "DECODE_SECONDS", 0.5)
    slow = write_photo(tmp_path / "slow.png")
    start = time.monotonic()
    with pytest.raises(DecodeTimeout, match=r"^slow\.png: decoding took longer than 0\.5 s"):
        colorizer.colorize(slow, num_samples=1, seed=0)
    assert time.monotonic() - start < 5
    # The worker is free again: the next photo is colorized at once.
    assert len(colorizer.colorize(write_photo(tmp_path / "fast.png"), num_samples=1, seed=0)) == 1


def test_a_slow_file_fails_alone_and_the_batch_goes_on(tmp_path, monkeypatch, colorizer):
    from colorize.batch import BatchOptions, colorize_folder

    slow_png_load(monkeypatch)
    monkeypatch.setattr(image_io, "DECODE_SECONDS", 0.5)
    in_dir = tmp_path / "in"
    in_dir.mkdir()
    write_photo(in_dir / "slow.png")
    write_photo(in_dir / "ok.png")
    log = io.StringIO()
    result = colorize_folder(colorizer, in_dir, tmp_path / "out", BatchOptions(num_samples=1, seed=0), log=log)
    assert (result.done, result.failed) == (1, 1)
    assert "slow.png: decoding took longer than 0.5 s and was abandoned" in log.getvalue()


def test_the_page_decodes_under_the_same_bound(tmp_path, monkeypatch):
    webui_app = pytest.importorskip("webui.app")
    slow_png_load(monkeypatch)
    monkeypatch.setattr(image_io, "DECODE_SECONDS", 0.5)
    with pytest.raises(DecodeTimeout):
        webui_app.photo_view(str(write_photo(tmp_path / "slow.png")))  # the hint view decodes the upload


# 4, 5, 7, 14. One table of limits, the same in the API and the CLI.

@pytest.mark.parametrize("kwargs, message", [
    (dict(num_samples=100_000), r"num_samples must be an integer in \[1, 256\]"),
    (dict(temperature=1e-39), r"temperature must be a number in \[0.05, 2\]"),
    (dict(temperature=5e-324), r"temperature must be a number in \[0.05, 2\]"),
    (dict(temperature=float("inf")), r"temperature must be a number in \[0.05, 2\]"),
    (dict(temperature=float("nan")), r"temperature must be a number in \[0.05, 2\]"),
    (dict(seed=2**64), r"seed must be an integer in \[0, 2\*\*64 - 1\]"),
    (dict(seed=-1), r"seed must be an integer in \[0, 2\*\*64 - 1\]"),
])
def test_the_api_refuses_requests_beyond_the_limits(colorizer, kwargs, message):
    with pytest.raises(ValueError, match=message):
        colorizer.colorize(np.zeros((8, 8, 3), dtype=np.uint8), **kwargs)
    assert colorizer.colorize(np.zeros((8, 8, 3), dtype=np.uint8), num_samples=1, seed=2**64 - 1)


def test_threads_are_at_most_a_small_multiple_of_the_cores():
    with pytest.raises(ValueError, match=r"threads must be an integer in \[1, "):
        Colorizer(PixColor.from_preset("tiny"), torch.device("cpu"), threads=100_000)
    assert limits.check_threads(limits.max_threads()) == limits.max_threads()


@pytest.mark.parametrize("option, value, message", [
    ("--threads", "100000", "--threads: must be an integer in [1, "),
    ("--temperature", "1e-39", "--temperature: must be a number in [0.05, 2]"),
    ("--temperature", "inf", "--temperature: must be a number in [0.05, 2]"),
    ("--samples", "100000", "--samples: must be an integer in [1, 256]"),
    ("--seed", str(2**64), "--seed: must be an integer in [0, 2**64 - 1]"),
])
def test_the_cli_refuses_options_beyond_the_limits_in_one_line(tmp_path, capsys, option, value, message):
    (tmp_path / "in").mkdir()
    with pytest.raises(SystemExit) as exit_:
        cli_main(["batch", str(tmp_path / "in"), str(tmp_path / "out"), option, value])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_files_that_are_not_regular_files_get_their_own_message(tmp_path, colorizer):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    (tmp_path / "folder.png").mkdir()
    (tmp_path / "loop.png").symlink_to("loop.png")
    (tmp_path / "dangling.png").symlink_to("nowhere.png")
    for name, message in [("pipe.png", "pipe.png: a FIFO, not an image file"),
                          ("folder.png", "folder.png: a folder, not an image file"),
                          ("loop.png", "loop.png: a loop of symbolic links")]:
        with pytest.raises(UnreadableImage, match=message):
            colorizer.colorize(tmp_path / name)
    with pytest.raises(FileNotFoundError, match="dangling.png .a dangling symbolic link"):
        colorizer.colorize(tmp_path / "dangling.png")


# 5 (files), 12. A tiny file that declares a huge image.

def sparse_jpeg(path: Path, width: int, height: int) -> Path:
    """An 8×8 JPEG of a few hundred bytes whose header claims ``width`` × ``height`` pixels."""
    buffer = io.BytesIO()
    Image.new("L", (8, 8)).save(buffer, "JPEG")
    data = bytearray(buffer.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    path.write_bytes(bytes(data))
    return path


def test_a_tiny_file_that_declares_a_huge_image_is_refused_and_the_limit_can_be_raised(tmp_path, monkeypatch):
    huge = sparse_jpeg(tmp_path / "bomb.jpg", 9000, 9000)
    assert huge.stat().st_size < 1000
    decoded = []
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded.append(self))
    with pytest.raises(ImageTooSparse, match=r"^bomb\.jpg: declares 9000×9000 pixels in only \d+ bytes"):
        load_array(huge, max_pixels=None)
    assert decoded == []
    with pytest.warns(SparseImageWarning), image_io.open_image(huge, max_pixels=None, max_sparse_pixels=None) as img:
        assert img.size == (9000, 9000)  # lifted by the user: opened with a warning, for them to decode


def test_a_sparse_file_below_the_limit_is_read_with_a_warning(tmp_path):
    small = sparse_jpeg(tmp_path / "odd.jpg", 2000, 1500)
    with pytest.warns(SparseImageWarning, match="odd.jpg: declares 2000×1500 pixels"):
        with image_io.open_image(small):
            pass


def test_batch_refuses_a_sparse_file_in_one_line_and_takes_the_raised_limit(tmp_path, checkpoint):
    in_dir = tmp_path / "in"
    in_dir.mkdir()
    sparse_jpeg(in_dir / "bomb.jpg", 6000, 6000)  # 36 megapixels: below the pixel limit, above the sparse one
    code, out, err = run_batch(in_dir, tmp_path / "out", checkpoint)
    assert code == 1 and "bomb.jpg: declares 6000×6000 pixels" in err and "refused above 16 megapixels" in err
    code, out, err = run_batch(in_dir, tmp_path / "out", checkpoint, "--max-sparse-megapixels", "40")
    assert code == 0 and "1 done" in out  # read now, with a warning that says what the file is
    assert "SparseImageWarning: bomb.jpg: declares 6000×6000 pixels" in err and "refused" not in err


# 8, 11. Temporary and lock names; what a killed run leaves.

def test_names_of_250_bytes_get_temporary_and_lock_names_that_fit(tmp_path, checkpoint):
    in_dir = tmp_path / "in"
    in_dir.mkdir()
    name = "é" * 60 + "x" * (246 - 120) + ".png"  # 250 bytes: its output photo_0.png is 252
    assert len(name.encode()) == 250
    write_photo(in_dir / name)
    code, out, err = run_batch(in_dir, tmp_path / "out", checkpoint)
    assert code == 0, err
    assert (tmp_path / "out" / (name[:-4] + "_0.png")).is_file()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [name[:-4] + ".json", name[:-4] + "_0.png"]
    assert len(lock_path(tmp_path, name).name.encode()) <= 255


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_killed_runs_temporary_files_are_removed_by_the_next_run(tmp_path, colorizer):
    from colorize.batch import BatchOptions, colorize_folder

    in_dir, out_dir = tmp_path / "in", tmp_path / "out"
    (out_dir / "sub").mkdir(parents=True)
    in_dir.mkdir()
    write_photo(in_dir / "photo.png")
    stale = out_dir / "sub" / f".photo_0.png.{dead_pid()}.abcd1234.tmp"
    live = out_dir / f".photo_0.png.{os.getpid()}.live5678.tmp"  # a run that is still writing
    stale.write_bytes(b"partial")
    live.write_bytes(b"partial")
    colorize_folder(colorizer, in_dir, out_dir, BatchOptions(num_samples=1, seed=0), log=io.StringIO())
    assert not stale.exists() and live.exists()
    assert (out_dir / "photo_0.png").is_file()


def test_a_temporary_file_names_its_process(tmp_path):
    target = tmp_path / "photo_0.png"
    seen = []
    real_replace = os.replace
    try:
        os.replace = lambda src, dst: seen.append(Path(src).name) or real_replace(src, dst)
        write_bytes_atomically(target, b"png")
    finally:
        os.replace = real_replace
    assert seen and seen[0].startswith(f".photo_0.png.{os.getpid()}.") and seen[0].endswith(".tmp")
    assert remove_stale_temporaries(tmp_path) == 0 and target.read_bytes() == b"png"


# 9, 10, 13. Hints: nesting, endless files, too many points.

def test_deeply_nested_hints_are_a_clear_error(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)
    with pytest.raises(ValueError, match="nested more than 8 levels deep"):
        read_hints_file(deep)
    with pytest.raises(ValueError, match="nested more than"):
        parse_json('{"a": ' * 20 + "1" + "}" * 20)
    assert parse_json('{"a.png": [[1, 2, "#[[[[[[[[[[["]]}') == {"a.png": [[1, 2, "#[[[[[[[[[[["]]}


def test_a_hints_file_that_never_ends_is_refused_without_reading_it_all():
    start = time.monotonic()
    with pytest.raises(ValueError, match="not a regular file"):
        read_hints_file("/dev/zero")
    assert time.monotonic() - start < 5


def test_a_huge_hints_file_is_refused_by_its_size(tmp_path, monkeypatch):
    import colorize.hints as hints_module

    monkeypatch.setattr(hints_module, "MAX_HINTS_FILE_BYTES", 100)
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"a.png": [[1, 2, "#ff0000"]] * 20}))
    with pytest.raises(ValueError, match="larger than"):
        read_hints_file(big)


def test_too_many_hints_are_refused(colorizer):
    points = [(1, 1, "#ff0000")] * (limits.MAX_HINTS + 1)
    with pytest.raises(ValueError, match=f"at most {limits.MAX_HINTS} per photo"):
        colorizer.colorize(np.zeros((32, 32, 3), dtype=np.uint8), num_samples=1, hints=points)


def test_the_pages_hint_box_refuses_deep_nesting_and_floods_in_one_line():
    webui_app = pytest.importorskip("webui.app")
    import gradio as gr

    with pytest.raises(gr.Error, match="nested more than"):
        webui_app.parse_hints("[" * 100_000)
    with pytest.raises(gr.Error, match=f"at most {limits.MAX_HINTS} per photo"):
        webui_app.parse_hints(json.dumps([[1, 1, "#ff0000"]] * 50_000))


# 6. The page's private folder goes on SIGTERM and SIGHUP, as on Ctrl-C.

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_the_page_removes_its_private_folder_on_sigterm_and_sighup(tmp_path, checkpoint, signum):
    pytest.importorskip("gradio")
    env = {**os.environ, "TMPDIR": str(tmp_path), "OMP_NUM_THREADS": "1"}
    env.pop("GRADIO_TEMP_DIR", None)
    server = subprocess.Popen([sys.executable, "-m", "webui", "--port", str(free_port()), "--checkpoint",
                               str(checkpoint), "--device", "cpu"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        banner = server.stdout.readline()
        assert "colorize web page on" in banner, banner
        folders = list(tmp_path.glob("colorize-webui-*"))
        assert len(folders) == 1 and folders[0].is_dir()
        server.send_signal(signum)
        server.wait(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert not folders[0].exists()
