"""data/build_corpus.py on the offline fixtures: no apt, no network."""

import csv
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from data import build_corpus
from data.build_corpus import (BACKGROUND, Photo, build_from_files, locate, main, read_photo_list,
                               split_of)

FIXTURES = Path(__file__).resolve().parent.parent / "data" / "fixtures"
FIXTURE_CSV = FIXTURES / "photos.csv"
FIXTURE_CACHE = FIXTURES / "debs"


def build(out: Path, *extra: str):
    return main(["--csv", str(FIXTURE_CSV), "--cache", str(FIXTURE_CACHE), "--offline",
                 "--out", str(out), *extra])


def read_manifest(out: Path) -> list[dict]:
    with open(out / "manifest.csv", newline="") as f:
        return list(csv.DictReader(f))


def fixture_cache_copy(tmp_path: Path) -> Path:
    cache = tmp_path / "debs"
    shutil.copytree(FIXTURE_CACHE, cache)
    return cache


def test_split_is_a_deterministic_80_10_10_function_of_package_and_path():
    keys = [("pkg", f"usr/share/img_{i}.jpg") for i in range(3000)]
    splits = [split_of(*k) for k in keys]
    assert splits == [split_of(*k) for k in keys]
    counts = Counter(splits)
    assert abs(counts["train"] / 3000 - 0.8) < 0.03
    assert abs(counts["val"] / 3000 - 0.1) < 0.03
    assert abs(counts["test"] / 3000 - 0.1) < 0.03


def test_fixture_build_manifest_matches_files(tmp_path):
    out = tmp_path / "corpus"
    summary = build(out)
    rows = read_manifest(out)

    # leaf_small.jpg is a downscaled, re-encoded leaf.jpg: a near duplicate.
    assert [(d.path, k.path) for d, k in summary.duplicates] == [
        ("usr/share/backgrounds/leaf_small.jpg", "usr/share/backgrounds/leaf.jpg")]
    assert len(rows) == 3

    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.name != "manifest.csv"}
    assert on_disk == {row["file"] for row in rows}
    sources = [(row["package"], row["path"]) for row in rows]
    assert len(set(sources)) == len(sources)  # no file in two splits
    listed = {(p.package, p.path): p for p in read_photo_list(FIXTURE_CSV)}
    for row in rows:
        assert row["split"] == split_of(row["package"], row["path"]) == row["file"].split("/")[0]
        assert row["licence"] == listed[(row["package"], row["path"])].licence
        with Image.open(out / row["file"]) as img:
            assert img.mode == "RGB"
            assert img.size == (int(row["width"]), int(row["height"]))


def test_rebuild_is_identical(tmp_path):
    build(tmp_path / "a")
    build(tmp_path / "b")
    assert read_manifest(tmp_path / "a") == read_manifest(tmp_path / "b")


def test_existing_corpus_needs_force(tmp_path):
    out = tmp_path / "corpus"
    build(out)
    with pytest.raises(SystemExit, match="--force"):
        build(out)
    build(out, "--force")
    assert len(read_manifest(out)) == 3


def test_cutout_is_cropped_and_composited_without_transparent_junk(tmp_path):
    out = tmp_path / "corpus"
    build(out)
    row = next(r for r in read_manifest(out) if r["path"].endswith("cherry.png"))
    src = Image.open(FIXTURE_CACHE / row["package"] / row["path"])
    box = src.getchannel("A").getbbox()
    alpha = np.asarray(src.getchannel("A").crop(box))
    rgb = np.asarray(Image.open(out / row["file"]))
    assert rgb.shape[:2] == alpha.shape  # cropped to the opaque bounding box
    assert (rgb[alpha == 0] == BACKGROUND).all()  # transparent pixels became the background


def test_exact_and_mirrored_duplicates_are_dropped(tmp_path):
    cache = fixture_cache_copy(tmp_path)
    stamps = cache / "fixture-stamps" / "usr/share/stamps/fruit"
    shutil.copy(stamps / "cherry.png", stamps / "cherry_copy.png")
    Image.open(stamps / "cherry.png").transpose(Image.FLIP_LEFT_RIGHT).save(stamps / "cherry_mirror.png")
    photos = [Photo("fixture-stamps", f"usr/share/stamps/fruit/{n}.png", "GPL-2+")
              for n in ("cherry", "cherry_copy", "cherry_mirror")]
    summary = build_from_files(locate(photos, cache, download=False), tmp_path / "out", progress=False)
    assert [r["path"] for r in summary.rows] == ["usr/share/stamps/fruit/cherry.png"]
    assert sorted(d.path for d, _ in summary.duplicates) == [
        "usr/share/stamps/fruit/cherry_copy.png", "usr/share/stamps/fruit/cherry_mirror.png"]


def test_max_side_is_honoured_and_small_images_are_not_upscaled(tmp_path):
    root = tmp_path / "debs" / "pkg"
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:1200, 0:3000]
    big = np.stack([xx % 256, yy % 256, (xx + yy) % 256], -1).astype(np.uint8)
    root.mkdir(parents=True)
    Image.fromarray(big).save(root / "big.png")
    Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(root / "small.png")
    photos = [Photo("pkg", "big.png", "CC0-1.0"), Photo("pkg", "small.png", "CC0-1.0")]
    summary = build_from_files(locate(photos, tmp_path / "debs", download=False), tmp_path / "out",
                               progress=False)
    sizes = {r["path"]: (r["width"], r["height"]) for r in summary.rows}
    assert sizes == {"big.png": (1024, 410), "small.png": (50, 40)}


def test_missing_listed_file_is_named(tmp_path, capsys):
    csv_path = tmp_path / "photos.csv"
    csv_path.write_text(FIXTURE_CSV.read_text() + "fixture-stamps,usr/share/stamps/fruit/kiwi.png,GPL-2+,fruit\n")
    with pytest.raises(SystemExit, match="fixture-stamps: usr/share/stamps/fruit/kiwi.png"):
        main(["--csv", str(csv_path), "--cache", str(FIXTURE_CACHE), "--offline", "--out", str(tmp_path / "o")])
    assert not (tmp_path / "o").exists()  # nothing is written before every file is found


def test_bad_csv_rows_are_rejected(tmp_path):
    bad = tmp_path / "photos.csv"
    bad.write_text("package,path\npkg,a.jpg\n")
    with pytest.raises(ValueError, match="licence"):
        read_photo_list(bad)
    bad.write_text("package,path,licence\npkg,../etc/passwd,MIT\n")
    with pytest.raises(ValueError, match="relative"):
        read_photo_list(bad)


def test_apt_failure_names_the_package(tmp_path, monkeypatch):
    def fail(cmd, **kwargs):
        raise subprocess.CalledProcessError(100, cmd, stderr="E: Unable to locate package no-such-pkg")

    monkeypatch.setattr(build_corpus.subprocess, "run", fail)
    with pytest.raises(RuntimeError, match=r"(?s)no-such-pkg.*Unable to locate"):
        build_corpus.fetch_package("no-such-pkg", tmp_path)
    assert not (tmp_path / "no-such-pkg").exists()  # no half-unpacked package is left in the cache
