"""``python -m colorize batch`` end to end, on a tiny untrained model and a folder of good and bad files.

The batch over the mixed folder runs once (module scope) and several tests
read its outputs and messages; sampling costs about 0.3 s a photo.
"""

import errno
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from colorize import Colorizer, cli
from colorize.batch import write as batch_write
from colorize.limits import MAX_SAMPLES
from colorize.batch import BatchOptions, BatchUsageError, colorize_folder, write_image_atomically
from colorize.fullres import colorize_into, full_resolution, lightness_of
from colorize.nn.resize import resize
from colorize.photo_lock import lock_path, photo_lock

SAMPLES = 2
SEED = 7
ROOT = Path(__file__).resolve().parents[1]


def smooth_rgb(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A small colour image with some structure, uint8 (H, W, 3)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width, 2)
    channels = [np.sin(rng.uniform(1, 6) * xx + rng.uniform(0, 3)) * np.cos(rng.uniform(1, 6) * yy)
                for _ in range(3)]
    return ((np.stack(channels, -1) + 1) * 127.5).astype(np.uint8)


def gradient_alpha(height: int, width: int) -> np.ndarray:
    return np.linspace(0, 255, height * width).reshape(height, width).round().astype(np.uint8)


def with_orientation(image: Image.Image, orientation: int) -> Image.Exif:
    exif = image.getexif()
    exif[0x0112] = orientation
    return exif


def write_good_files(root: Path) -> dict[str, tuple[tuple[int, int], np.ndarray | None]]:
    """Every kind of input that must work: relative path → (expected output size (W, H), expected alpha)."""
    expected = {}
    rgb = Image.fromarray(smooth_rgb(8, 12))

    def save(rel, image, size=(12, 8), alpha=None, **kwargs):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path, **kwargs)
        expected[rel] = (size, alpha)

    save("sub/gray.png", rgb.convert("L"))
    save("sub/deeper/colour.JPEG", rgb, quality=95)  # upper-case suffix, two levels down
    save("rotated.jpg", rgb, size=(8, 12), exif=with_orientation(rgb, 6))  # shown turned by 90°
    # RGBA with an EXIF turn: the alpha in the output is the input's, turned the same way.
    alpha = gradient_alpha(8, 12)
    rgba = Image.fromarray(np.dstack([smooth_rgb(8, 12, 1), alpha]), "RGBA")
    save("rgba_rotated.png", rgba, size=(8, 12), alpha=np.rot90(alpha, -1), exif=with_orientation(rgba, 6))
    la = Image.fromarray(np.dstack([np.asarray(rgb.convert("L")), alpha[::-1]]), "LA")
    save("gray_alpha.png", la, alpha=alpha[::-1])
    palette = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    indices = np.asarray(palette)
    save("palette_transparent.png", palette, alpha=np.where(indices == 0, 0, 255).astype(np.uint8),
         transparency=0)
    save("palette.bmp", palette)
    save("photo.webp", rgb, quality=90)
    save("cmyk.tiff", rgb.convert("CMYK"))
    save("deep16.png", Image.fromarray((np.asarray(rgb.convert("L")).astype(np.uint16) * 257)))  # I;16
    deep32 = Image.fromarray(np.asarray(rgb.convert("L")).astype(np.int32) * 200)  # mode I
    save("фото ünï 16.tif", deep32)
    save("one_pixel.png", Image.new("RGB", (1, 1), (90, 120, 30)), size=(1, 1))
    save("thin.png", Image.fromarray(smooth_rgb(500, 3)), size=(3, 500))
    save("dup/pic.jpg", rgb)  # pic.png below claims the same outputs and fails
    return expected


def write_bad_files(root: Path) -> dict[str, str]:
    """Files that must fail with a clear message: relative path → a word the message must contain."""
    png = io.BytesIO()
    Image.fromarray(smooth_rgb(8, 12)).save(png, "PNG")
    jpg = io.BytesIO()
    Image.fromarray(smooth_rgb(8, 12)).save(jpg, "JPEG")
    corrupt = bytearray(jpg.getvalue())
    table = corrupt.index(b"\xff\xc4")  # the Huffman table: identifies as JPEG, fails to decode
    corrupt[table + 5:table + 21] = b"\xff" * 16
    bomb = io.BytesIO()
    Image.new("1", (20000, 10000)).save(bomb, "PNG")  # 200 MP, over twice Pillow's limit; 24 KB
    files = {
        "truncated.png": (png.getvalue()[: len(png.getvalue()) // 2], "truncated"),
        "corrupt.jpg": (bytes(corrupt), "corrupt"),
        "notes.png": (b"shopping list: milk, eggs\n", "not an image"),
        "empty.tif": (b"", "not an image"),
        "bomb.png": (bomb.getvalue(), "decompression bomb"),
        "dup/pic.png": (png.getvalue(), "overwrite"),
    }
    for rel, (data, _) in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    (root / "dangling.jpg").symlink_to(root / "nowhere.jpg")
    expected = {rel: word for rel, (_, word) in files.items()}
    expected["dangling.jpg"] = "dangling"
    if os.geteuid() != 0:  # root reads a chmod 000 file anyway
        locked = root / "locked.png"
        locked.write_bytes(png.getvalue())
        locked.chmod(0)
        expected["locked.png"] = "Permission denied"
    return expected


def snapshot(root: Path) -> dict[str, str]:
    """Relative path → sha256 of every file under ``root`` (symbolic links: their target text)."""
    result = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            rel = str(path.relative_to(root))
            if path.is_symlink():
                result[rel] = "-> " + os.readlink(path)
            elif os.access(path, os.R_OK):
                result[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                result[rel] = "unreadable"
    return result


def run_cli(argv, capsys):
    """``colorize.cli.main(["batch", *argv])`` in-process → (exit code, stdout, stderr)."""
    try:
        code = cli.main(["batch"] + [str(a) for a in argv])
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def colorizer(checkpoint):
    return Colorizer.from_pretrained(checkpoint, device="cpu")


@pytest.fixture(scope="module")
def mixed(tmp_path_factory, checkpoint):
    """The mixed folder colorized once, then rerun; each run's (exit code, stdout, stderr)."""
    root = tmp_path_factory.mktemp("batch")
    in_dir, out_dir = root / "in", root / "out"
    good = write_good_files(in_dir)
    bad = write_bad_files(in_dir)
    (in_dir / "loop").symlink_to(".")  # a symbolic link loop: must not hang the walk
    (in_dir / "sub" / "readme.txt").write_text("not an image suffix: reported, not read\n")
    (in_dir / "drawing.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>\n')
    (in_dir / ".DS_Store").write_bytes(b"\0")  # hidden files are passed over in silence
    before = snapshot(in_dir)
    argv = [in_dir, out_dir, "--samples", SAMPLES, "--seed", SEED, "--checkpoint", checkpoint, "--device", "cpu"]
    first = run_captured(argv)
    inodes = {p: p.stat().st_ino for p in out_dir.rglob("*")}
    second = run_captured(argv)
    return dict(in_dir=in_dir, out_dir=out_dir, good=good, bad=bad, before=before,
                first=first, second=second, inodes=inodes)


def run_captured(argv):
    """``cli.main(["batch", *argv])``, stdout and stderr into strings → (code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        code = cli.main(["batch"] + [str(a) for a in argv])
    except SystemExit as exit_:
        code = exit_.code
    finally:
        sys.stdout, sys.stderr = saved
    return code, out.getvalue(), err.getvalue()


def outputs_of(out_dir: Path, rel: str) -> list[Path]:
    rel = Path(rel)
    return [out_dir / rel.parent / f"{rel.stem}_{n}.png" for n in range(SAMPLES)]


def test_every_good_file_gives_n_outputs_of_its_size(mixed):
    for rel, (size, alpha) in mixed["good"].items():
        for path in outputs_of(mixed["out_dir"], rel):
            with Image.open(path) as image:
                assert image.size == size, rel
                assert image.mode == ("RGB" if alpha is None else "RGBA"), rel
                if alpha is not None:
                    assert np.array_equal(np.asarray(image.getchannel("A")), alpha), rel


def test_exit_status_and_summary_count_the_failures(mixed):
    code, out, _ = mixed["first"]
    assert code == 1
    assert f"{len(mixed['good'])} done, 0 skipped, {len(mixed['bad'])} failed" in out


def test_each_bad_file_gets_one_line_naming_it(mixed):
    _, _, err = mixed["first"]
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == len(mixed["bad"])
    for rel, word in mixed["bad"].items():
        named = [line for line in lines if str(mixed["in_dir"] / rel) + ":" in line]
        assert len(named) == 1, (rel, lines)
        assert word.lower() in named[0].lower(), named[0]
        assert not any(p.exists() for p in outputs_of(mixed["out_dir"], rel) if rel != "dup/pic.png")


def test_the_output_folder_holds_the_outputs_and_nothing_else(mixed):
    written = {str(p.relative_to(mixed["out_dir"])) for p in mixed["out_dir"].rglob("*") if p.is_file()}
    expected = {str(p.relative_to(mixed["out_dir"])) for rel in mixed["good"]
                for p in [*outputs_of(mixed["out_dir"], rel), (mixed["out_dir"] / rel).with_suffix(".json")]}
    assert written == expected  # no temporary files or locks, nothing for the bad files or readme.txt


def test_inputs_are_untouched(mixed):
    assert snapshot(mixed["in_dir"]) == mixed["before"]


def test_a_rerun_skips_everything_and_rewrites_nothing(mixed):
    code, out, err = mixed["second"]
    assert code == 1  # the bad files still fail
    assert f"0 done, {len(mixed['good'])} skipped, {len(mixed['bad'])} failed" in out
    assert {p: p.stat().st_ino for p in mixed["out_dir"].rglob("*")} == mixed["inodes"]


def test_outputs_equal_the_api_with_the_same_seed(mixed, colorizer):
    """Each photo uses the seed itself, so its outputs do not depend on the other files."""
    for rel in ["sub/gray.png", "rgba_rotated.png", "thin.png"]:
        expected = colorizer.colorize(mixed["in_dir"] / rel, num_samples=SAMPLES, seed=SEED)
        for path, image in zip(outputs_of(mixed["out_dir"], rel), expected):
            with Image.open(path) as written:
                assert np.array_equal(np.asarray(written.convert("RGB")), np.asarray(image)), rel


@pytest.fixture
def small_folder(tmp_path):
    in_dir = tmp_path / "in"
    in_dir.mkdir()
    Image.fromarray(smooth_rgb(8, 12)).save(in_dir / "a.png")
    return in_dir, tmp_path / "out"


def test_clean_run_exits_0_and_overwrite_rewrites(small_folder, checkpoint, capsys):
    in_dir, out_dir = small_folder
    argv = [in_dir, out_dir, "--samples", 1, "--checkpoint", checkpoint, "--device", "cpu"]
    code, out, _ = run_cli(argv, capsys)
    assert code == 0 and "1 done, 0 skipped, 0 failed" in out
    inode = (out_dir / "a_0.png").stat().st_ino
    code, out, _ = run_cli(argv, capsys)
    assert code == 0 and "0 done, 1 skipped, 0 failed" in out
    assert (out_dir / "a_0.png").stat().st_ino == inode
    code, out, _ = run_cli(argv + ["--overwrite"], capsys)
    assert code == 0 and "1 done, 0 skipped, 0 failed" in out
    assert (out_dir / "a_0.png").stat().st_ino != inode
    # One of two outputs missing: the photo is not done, and both are written.
    code, out, _ = run_cli(argv[:2] + ["--samples", 2] + argv[4:], capsys)
    assert code == 0 and "1 done" in out and (out_dir / "a_1.png").is_file()


@pytest.mark.parametrize("case", ["equal", "inside", "equal_via_link"])
def test_out_dir_in_in_dir_is_refused(small_folder, checkpoint, capsys, case):
    in_dir, _ = small_folder
    out_dir = {"equal": in_dir, "inside": in_dir / "colorized" / "x", "equal_via_link": in_dir.parent / "link"}[case]
    if case == "equal_via_link":
        out_dir.symlink_to(in_dir, target_is_directory=True)
    before = snapshot(in_dir)
    code, _, err = run_cli([in_dir, out_dir, "--checkpoint", checkpoint], capsys)
    assert code == 2 and "inside" in err
    assert snapshot(in_dir) == before and not (in_dir / "colorized").exists()


@pytest.mark.parametrize(
    "args,message",
    [
        (["--samples", "0"], "--samples"),
        (["--samples", "two"], "--samples"),
        (["--temperature", "0"], "--temperature"),
        (["--temperature", "-1"], "--temperature"),
        (["--temperature", "nan"], "--temperature"),
        (["--seed", "-1"], "--seed"),
        (["--device", "tpu"], "--device"),
    ],
)
def test_bad_options_are_usage_errors(small_folder, capsys, args, message):
    in_dir, out_dir = small_folder
    code, _, err = run_cli([in_dir, out_dir] + args, capsys)
    assert code == 2 and message in err and not out_dir.exists()


def test_missing_or_file_in_dir_is_a_usage_error(tmp_path, checkpoint, capsys):
    code, _, err = run_cli([tmp_path / "nope", tmp_path / "out", "--checkpoint", checkpoint], capsys)
    assert code == 2 and "does not exist" in err
    (tmp_path / "file.png").write_bytes(b"")
    code, _, err = run_cli([tmp_path / "file.png", tmp_path / "out", "--checkpoint", checkpoint], capsys)
    assert code == 2 and "not a folder" in err


def test_a_missing_model_is_a_clear_usage_error(small_folder, tmp_path, capsys, monkeypatch):
    in_dir, out_dir = small_folder
    code, _, err = run_cli([in_dir, out_dir, "--checkpoint", tmp_path / "no_model"], capsys)
    assert code == 2 and "config.json" in err
    monkeypatch.setattr("colorize.colorizer.DEFAULT_MODEL_DIR", tmp_path / "weights" / "default")
    code, _, err = run_cli([in_dir, out_dir], capsys)
    assert code == 2 and "no default model" in err and "--checkpoint" in err
    assert "Traceback" not in err


def test_help_and_the_module_entry_point(small_folder, checkpoint):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    shown = subprocess.run([sys.executable, "-m", "colorize", "batch", "--help"],
                           capture_output=True, text=True, env=env, cwd=ROOT)
    assert shown.returncode == 0
    for option in ["--samples", "--temperature", "--seed", "--checkpoint", "--device", "--overwrite", "exit status"]:
        assert option in shown.stdout
    in_dir, out_dir = small_folder
    run = subprocess.run([sys.executable, "-m", "colorize", "batch", str(in_dir), str(out_dir), "--samples", "1",
                          "--checkpoint", str(checkpoint), "--device", "cpu"],
                         capture_output=True, text=True, env=env, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert (out_dir / "a_0.png").is_file() and "1 done, 0 skipped, 0 failed" in run.stdout
    assert "photo/s" in run.stderr or "s/photo" in run.stderr  # the progress bar shows the rate


def test_the_device_choices_match_the_library():
    from colorize.device import DEVICE_CHOICES

    assert cli.DEVICE_CHOICES == DEVICE_CHOICES


def test_a_failed_write_leaves_no_temporary_file_and_the_old_output(tmp_path):
    target = tmp_path / "x_0.png"
    target.write_bytes(b"old")

    class Exploding:
        def save(self, file, format):
            file.write(b"half a png")
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_image_atomically(Exploding(), target)
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["x_0.png"]


def test_sigterm_mid_write_stops_the_run_without_temporary_files(small_folder, colorizer, monkeypatch):
    in_dir, out_dir = small_folder
    Image.fromarray(smooth_rgb(8, 12, 3)).save(in_dir / "b.png")
    real_save = Image.Image.save

    def killed_save(self, file, *args, **kwargs):
        real_save(self, file, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)  # as `kill PID` while the PNG is being written

    monkeypatch.setattr(Image.Image, "save", killed_save)
    handler = signal.getsignal(signal.SIGTERM)
    result = colorize_folder(colorizer, in_dir, out_dir, BatchOptions(num_samples=1), log=io.StringIO())
    assert result.interrupted and result.done == 0 and "interrupted" in result.summary()
    assert os.listdir(out_dir) == []  # the first output was never renamed into place
    assert signal.getsignal(signal.SIGTERM) is handler


def test_batch_options_check_their_values():
    with pytest.raises(BatchUsageError, match="samples"):
        BatchOptions(num_samples=0)
    with pytest.raises(BatchUsageError, match="temperature"):
        BatchOptions(temperature=0.0)


def test_strip_merge_equals_the_whole_image_merge(colorizer):
    """Past the working size, L and ab are joined in column bands; the result is the API's."""
    torch.manual_seed(0)
    height, width = 229, 250  # both above the working size 224: the banded upsampling path
    rgb = smooth_rgb(height, width, 5)
    ab_work = torch.randn(1, 2, 224, 224) * 30
    lightness = lightness_of(rgb, torch.device("cpu"), strip_pixels=1000)  # 4 rows a band
    whole, _ = full_resolution(lightness, ab_work)
    expected = (whole[0].clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    out = np.zeros((height, width, 4), np.uint8)
    out[..., 3] = 77
    colorize_into(out, lightness, ab_work, strip_pixels=229 * 7)  # 7 columns a band
    assert np.abs(out[..., :3].astype(int) - expected).max() <= 1  # a float may differ in its last bit
    assert (out[..., :3] != expected).mean() < 1e-3 and (out[..., 3] == 77).all()
    # The upsampled ab itself is bit for bit the same.
    rows = resize(ab_work, 224, width)
    assert torch.equal(resize(rows[..., 10:17], height, 7), resize(ab_work, height, width)[..., 10:17])


def test_a_large_image_under_twice_the_limit_is_colorized_with_a_warning(small_folder, checkpoint, capsys,
                                                                         monkeypatch):
    """Pillow's limit stays in force: between 1× and 2× of it the photo is read, with a one-line warning."""
    in_dir, out_dir = small_folder
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 60)  # a.png has 96 pixels
    code, out, err = run_cli([in_dir, out_dir, "--samples", 1, "--checkpoint", checkpoint, "--device", "cpu"],
                             capsys)
    assert code == 0 and "1 done" in out
    warning = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert len(warning) == 1 and str(in_dir / "a.png") in warning[0] and "DecompressionBombWarning" in warning[0]


def test_outputs_that_would_land_in_in_dir_are_refused(tmp_path, colorizer):
    """OUT_DIR a parent of IN_DIR: IN/in/p.png would give OUT/in/p_0.png, which is IN/p_0.png."""
    in_dir = tmp_path / "in"
    (in_dir / "in").mkdir(parents=True)
    Image.fromarray(smooth_rgb(8, 12)).save(in_dir / "in" / "p.png")
    Image.fromarray(smooth_rgb(8, 12)).save(in_dir / "q\nr.png")  # a line break in a name stays on one line
    log = io.StringIO()
    result = colorize_folder(colorizer, in_dir, tmp_path, BatchOptions(num_samples=1), log=log)
    assert (result.done, result.failed) == (1, 1)
    assert not (in_dir / "p_0.png").exists() and (tmp_path / "q\nr_0.png").is_file()
    errors = [line for line in log.getvalue().splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "inside IN_DIR" in errors[0] and str(in_dir / "in" / "p.png") in errors[0]


def test_messages_keep_a_file_name_on_one_line():
    from colorize.batch import shown

    assert shown(Path("a/b\nc ü.png")) == "a/b\\nc ü.png"


def test_unsupported_files_get_one_line_each_and_are_counted(mixed):
    code, out, err = mixed["first"]
    lines = [line for line in err.splitlines() if line.startswith("skipped: ")]
    assert sorted(lines) == [f"skipped: {mixed['in_dir'] / 'drawing.svg'}: not a supported image format (.svg)",
                             f"skipped: {mixed['in_dir'] / 'sub' / 'readme.txt'}: "
                             "not a supported image format (.txt)"]
    assert ", 2 unsupported (" in out and ".DS_Store" not in err


def test_samples_has_an_upper_bound(small_folder, checkpoint, capsys):
    in_dir, out_dir = small_folder
    code, _, err = run_cli([in_dir, out_dir, "--samples", 100_000_000, "--checkpoint", checkpoint], capsys)
    assert code == 2 and f"[1, {MAX_SAMPLES}]" in err and not out_dir.exists()
    assert BatchOptions(num_samples=MAX_SAMPLES).num_samples == MAX_SAMPLES


def never_colorize(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a photo was colorized although OUT_DIR cannot take its outputs")

    monkeypatch.setattr(Colorizer, "_draw_chroma", refuse)


def test_an_out_dir_that_cannot_be_written_is_refused_before_any_work(small_folder, checkpoint, capsys,
                                                                     monkeypatch):
    in_dir, out_dir = small_folder
    out_dir.mkdir()
    never_colorize(monkeypatch)
    if os.geteuid() == 0:  # root writes into a chmod 555 folder: make the write fail as it would
        def read_only(*args, **kwargs):
            raise PermissionError(errno.EROFS, os.strerror(errno.EROFS))

        monkeypatch.setattr(batch_write.tempfile, "mkstemp", read_only)
    else:
        out_dir.chmod(0o555)
    code, _, err = run_cli([in_dir, out_dir, "--checkpoint", checkpoint, "--device", "cpu"], capsys)
    assert code == 2 and f"OUT_DIR {out_dir} is not writable" in err and ".tmp" not in err


def test_a_full_out_dir_is_refused_before_any_work(small_folder, checkpoint, capsys, monkeypatch):
    in_dir, out_dir = small_folder
    never_colorize(monkeypatch)
    real = os.statvfs

    def nearly_full(path):
        stats = real(path)
        return os.statvfs_result((stats.f_bsize, 4096, stats.f_blocks, 10, 10, *stats[5:]))

    monkeypatch.setattr(batch_write.os, "statvfs", nearly_full)
    code, _, err = run_cli([in_dir, out_dir, "--checkpoint", checkpoint, "--device", "cpu"], capsys)
    assert code == 2 and f"OUT_DIR {out_dir} is full" in err


def test_a_disk_that_fills_up_names_the_output_and_stops_the_run(tmp_path, checkpoint, capsys, monkeypatch):
    in_dir = tmp_path / "in"
    in_dir.mkdir()
    for name in ("a.png", "b.png"):
        Image.fromarray(smooth_rgb(8, 12)).save(in_dir / name)

    def no_space(image, path, **save_options):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(batch_write, "write_image_atomically", no_space)
    out_dir = tmp_path / "out"
    code, out, err = run_cli([in_dir, out_dir, "--samples", 1, "--checkpoint", checkpoint, "--device", "cpu"],
                             capsys)
    assert code == 1 and "stopped after 0 done, 0 skipped, 1 failed" in out
    assert f"cannot write {out_dir / 'a_0.png'}: No space left on device; stopping" in err
    assert "b.png" not in err and not list(out_dir.rglob("*.lock"))


def test_a_photo_another_run_is_colorizing_is_skipped(small_folder, checkpoint, capsys):
    in_dir, out_dir = small_folder
    out_dir.mkdir()
    argv = [in_dir, out_dir, "--samples", 1, "--checkpoint", checkpoint, "--device", "cpu"]
    with photo_lock(lock_path(out_dir, "a.png")) as held:  # the other run, holding a.png's lock
        assert held
        code, out, err = run_cli(argv, capsys)
    assert code == 0 and "0 done, 1 skipped, 0 failed" in out
    assert f"skipped: {in_dir / 'a.png'}: another run is colorizing it" in err
    assert not (out_dir / "a_0.png").exists()
    # Its lock gone, the photo is colorized, and no lock file is left behind.
    code, out, _ = run_cli(argv, capsys)
    assert code == 0 and "1 done" in out and not list(out_dir.glob(".*"))


def test_a_stale_lock_of_a_killed_run_blocks_nothing(small_folder, checkpoint, capsys):
    in_dir, out_dir = small_folder
    out_dir.mkdir()
    script = (f"import os, fcntl; fd = os.open({str(lock_path(out_dir, 'a.png'))!r}, os.O_RDWR | os.O_CREAT); "
              "fcntl.flock(fd, fcntl.LOCK_EX); os.kill(os.getpid(), 9)")
    subprocess.run([sys.executable, "-c", script])  # takes the lock, then dies holding it
    assert lock_path(out_dir, "a.png").exists()
    code, out, _ = run_cli([in_dir, out_dir, "--samples", 1, "--checkpoint", checkpoint, "--device", "cpu"],
                           capsys)
    assert code == 0 and "1 done" in out and not lock_path(out_dir, "a.png").exists()


def test_a_lock_file_planted_as_a_link_is_never_written_through(tmp_path):
    target = tmp_path / "victim"
    target.write_text("keep me")
    (tmp_path / ".a.png.lock").symlink_to(target)
    with pytest.raises(OSError):
        with photo_lock(lock_path(tmp_path, "a.png")):
            pass
    assert target.read_text() == "keep me"


def test_each_photo_gets_a_record_of_its_seed_selection_and_scores(tmp_path, checkpoint, capsys, colorizer):
    in_dir = tmp_path / "in"
    in_dir.mkdir()
    Image.fromarray(smooth_rgb(20, 30)).save(in_dir / "a.png")
    out_dir = tmp_path / "out"
    code, _, _ = run_cli([in_dir, out_dir, "--samples", 2, "--select", "likely", "--draws", 5,
                          "--seed", 9, "--checkpoint", checkpoint, "--device", "cpu"], capsys)
    record = json.loads((out_dir / "a.json").read_text())
    expected = colorizer.colorize_scored(in_dir / "a.png", num_samples=2, seed=9, select="likely", draws=5)
    assert code == 0 and {k: record[k] for k in ("source", "seed", "temperature", "select", "draws")} == \
        {"source": "a.png", "seed": 9, "temperature": 1.0, "select": "likely", "draws": 5}
    assert [o["file"] for o in record["outputs"]] == ["a_0.png", "a_1.png"]
    assert [o["bits_per_dim"] for o in record["outputs"]] == pytest.approx([c.bits_per_dim for c in expected])
    for n, colorization in enumerate(expected):
        with Image.open(out_dir / f"a_{n}.png") as written:
            assert np.array_equal(np.asarray(written), np.asarray(colorization.image))
    # Without --seed, the seed drawn for the photo is recorded: it gives the same images again.
    code, _, _ = run_cli([in_dir, tmp_path / "fresh", "--samples", 1, "--checkpoint", checkpoint,
                          "--device", "cpu"], capsys)
    seed = json.loads((tmp_path / "fresh" / "a.json").read_text())["seed"]
    again = colorizer.colorize(in_dir / "a.png", num_samples=1, seed=seed)[0]
    with Image.open(tmp_path / "fresh" / "a_0.png") as written:
        assert np.array_equal(np.asarray(written), np.asarray(again))


@pytest.mark.parametrize("args,message", [
    (["--select", "likely", "--samples", 4, "--draws", 2], "draws must be an int >= num_samples"),
    (["--draws", 8], "draws must equal num_samples"),
    (["--select", "best"], "invalid choice"),
])
def test_bad_selections_are_usage_errors(small_folder, checkpoint, capsys, args, message):
    in_dir, out_dir = small_folder
    code, _, err = run_cli([in_dir, out_dir, *args, "--checkpoint", checkpoint], capsys)
    assert code == 2 and message in err
