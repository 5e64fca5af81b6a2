"""Batch output formats: PNG at fast compression by default, JPEG and WebP with a quality."""

import numpy as np
import pytest
from PIL import Image

from colorize.batch import PNG_COMPRESS_LEVEL, BatchOptions, BatchUsageError
from tests.test_batch_cli import run_cli, smooth_rgb


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(smooth_rgb(20, 30)).save(folder / "a.png")
    rgba = np.dstack([smooth_rgb(20, 30, 1), np.full((20, 30), 128, np.uint8)])
    Image.fromarray(rgba, mode="RGBA").save(folder / "clear.png")
    return folder


@pytest.mark.parametrize("fmt, pil_format", [("png", "PNG"), ("jpg", "JPEG"), ("webp", "WEBP")])
def test_each_format_writes_its_files(photos, tmp_path, checkpoint, capsys, fmt, pil_format):
    out = tmp_path / "out"
    code, _, err = run_cli([photos, out, "--samples", 2, "--seed", 0, "--checkpoint", checkpoint,
                            "--format", fmt], capsys)
    assert code == 0, err
    for name in ("a_0", "a_1", "clear_0"):
        with Image.open(out / f"{name}.{fmt}") as image:
            assert image.format == pil_format and image.size == (30, 20)
    with Image.open(out / f"clear_0.{fmt}") as image:
        assert (image.mode == "RGB") == (fmt == "jpg")  # JPEG alone drops the alpha, and says so
    assert ("JPEG has no alpha channel" in err) == (fmt == "jpg")


def test_png_is_written_at_the_fast_compression_level(photos, tmp_path, checkpoint, capsys, monkeypatch):
    saved = []
    original = Image.Image.save

    def spy(self, fp, format=None, **options):
        saved.append((format, options))
        return original(self, fp, format=format, **options)

    monkeypatch.setattr(Image.Image, "save", spy)
    code, _, _ = run_cli([photos, tmp_path / "out", "--samples", 1, "--checkpoint", checkpoint], capsys)
    assert code == 0 and saved and all(s == ("PNG", {"compress_level": PNG_COMPRESS_LEVEL}) for s in saved)


def test_quality_is_checked():
    with pytest.raises(BatchUsageError, match="PNG is lossless"):
        BatchOptions(quality=80)
    with pytest.raises(BatchUsageError, match=r"\[1, 100\]"):
        BatchOptions(format="jpg", quality=101)
    with pytest.raises(BatchUsageError, match="unknown format"):
        BatchOptions(format="gif")
    assert BatchOptions(format="webp", quality=70).save_options() == {"format": "WEBP", "quality": 70}
