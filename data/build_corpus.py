"""Assemble the training corpus from the Debian packages listed in data/photos.csv.

Each row of the CSV names one photograph inside a Debian package (package,
path, licence, subject). The build

1. downloads every needed package with ``apt-get download`` and unpacks it with
   ``dpkg -x`` into a cache folder (no system install; already unpacked
   packages are reused),
2. loads each listed file as RGB: cut-outs with transparency are cropped to
   their opaque bounding box and composited on white,
3. downscales so that the longer side is at most 1024 px (never upscales),
4. drops exact, near and mirrored duplicates (a 256-bit perceptual hash: the
   16x16 lowest DCT frequencies of a 32x32 gray thumbnail; Hamming distance
   <= ``NEAR_DUP_BITS``),
5. assigns each file to train / val / test from a hash of ``package/path``
   (80 / 10 / 10), and writes ``OUT/<split>/<name>`` plus ``OUT/manifest.csv``.

    python data/build_corpus.py --out ~/.cache/colorize/corpus

The pure steps (``read_photo_list``, ``load_rgb``, ``fit_max_side``,
``perceptual_hash``, ``split_of``, ``build_from_files``) need neither apt nor the
network, so the tests run them on the fixtures in data/fixtures/.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image, ImageOps
from tqdm import tqdm

from colorize.image_io import BACKGROUND, load_within, open_image

DATA_DIR = Path(__file__).resolve().parent
DEFAULT_CSV = DATA_DIR / "photos.csv"
DEFAULT_CACHE = Path.home() / ".cache" / "colorize" / "debs"

CSV_COLUMNS = ("package", "path", "licence")  # required; "subject" is optional
MANIFEST_COLUMNS = ("split", "file", "package", "path", "licence", "subject", "width", "height")
SPLITS = (("train", 0.8), ("val", 0.1), ("test", 0.1))

MAX_SIDE = 1024
HASH_SIZE = 16  # the hash keeps HASH_SIZE x HASH_SIZE DCT coefficients
THUMB_SIZE = 32
# Out of 256 bits. On this corpus, copies downscaled 2x and re-encoded as JPEG
# are <= 34 bits from their original (300 of 305 photos; the rest are stamps
# under 100 px), tuxpaint's *_mirror stamps <= 26 bits, while distinct photos
# are >= 56 bits apart (see data/README.md).
# A plain average hash fails here: round cut-outs on white (coins, oranges)
# share one silhouette and land within 3 bits of each other.
NEAR_DUP_BITS = 40
JPEG_QUALITY = 95


@dataclass(frozen=True)
class Photo:
    """One row of photos.csv: a file inside a Debian package."""

    package: str
    path: str
    licence: str
    subject: str = ""


@dataclass
class Summary:
    """What a build wrote and what it dropped."""

    rows: list[dict] = field(default_factory=list)  # manifest rows, in write order
    duplicates: list[tuple[Photo, Photo]] = field(default_factory=list)  # (dropped, kept)

    def report(self) -> str:
        """Human-readable counts per split, package and licence."""
        lines = [f"kept {len(self.rows)} photos, dropped {len(self.duplicates)} duplicates"]
        for key in ("split", "package", "licence"):
            counts = Counter(row[key] for row in self.rows)
            lines.append(f"per {key}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        for dropped, kept in self.duplicates:
            lines.append(f"  duplicate: {dropped.package}/{dropped.path} ~ {kept.package}/{kept.path}")
        return "\n".join(lines)


def read_photo_list(csv_path: str | Path) -> list[Photo]:
    """Parse photos.csv; raise ValueError naming the line of any bad row."""
    csv_path = Path(csv_path)
    with open(csv_path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{csv_path}: missing column(s) {', '.join(missing)}")
        photos, seen = [], set()
        for line, row in enumerate(reader, start=2):
            photo = Photo(*(row.get(c, "").strip() for c in (*CSV_COLUMNS, "subject")))
            if not all((photo.package, photo.path, photo.licence)):
                raise ValueError(f"{csv_path}:{line}: package, path and licence must be non-empty")
            parts = PurePosixPath(photo.path).parts
            if photo.path.startswith("/") or ".." in parts:
                raise ValueError(f"{csv_path}:{line}: path must be relative to the package root: {photo.path}")
            if (photo.package, photo.path) in seen:
                raise ValueError(f"{csv_path}:{line}: listed twice: {photo.package} {photo.path}")
            seen.add((photo.package, photo.path))
            photos.append(photo)
    return photos


def fetch_package(package: str, cache: Path) -> Path:
    """Return ``cache/package``, the unpacked package, downloading it if absent.

    Unpacking goes to a temporary folder that is renamed at the end, so an
    existing ``cache/package`` is always complete.
    """
    target = cache / package
    if target.is_dir():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    print(f"downloading and unpacking {package} into {cache}", file=sys.stderr)
    with tempfile.TemporaryDirectory(dir=cache, prefix=f".{package}-") as tmp:
        tmp = Path(tmp)
        _run(["apt-get", "download", package], cwd=tmp, what=f"downloading Debian package {package!r}")
        debs = sorted(tmp.glob("*.deb"))
        if len(debs) != 1:
            raise RuntimeError(f"apt-get download {package} left {len(debs)} .deb files, expected 1")
        _run(["dpkg", "-x", str(debs[0]), str(tmp / "root")], cwd=tmp, what=f"unpacking {debs[0].name}")
        (tmp / "root").rename(target)
    return target


def _run(cmd: list[str], cwd: Path, what: str) -> None:
    """Run ``cmd`` quietly; on failure raise RuntimeError saying ``what`` failed, with its stderr."""
    try:
        subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True)
    except FileNotFoundError as e:
        raise RuntimeError(f"{what} needs {cmd[0]!r}, which is not installed (Debian/Ubuntu only)") from e
    except subprocess.CalledProcessError as e:
        hint = " (run `apt-get update` first?)" if cmd[0] == "apt-get" else ""
        raise RuntimeError(f"{what} failed{hint}: {' '.join(cmd)}\n{e.stderr.strip()}") from e


def locate(photos: list[Photo], cache: Path, download: bool = True) -> list[tuple[Path, Photo]]:
    """Map each photo to its file under ``cache/<package>/``.

    Raises FileNotFoundError listing every listed file that is not there (e.g.
    a newer package version renamed it).
    """
    roots = {}
    for package in sorted({p.package for p in photos}):
        if download:
            roots[package] = fetch_package(package, cache)
        elif (cache / package).is_dir():
            roots[package] = cache / package
        else:
            raise FileNotFoundError(f"package {package!r} is not unpacked in {cache}")
    items = [(roots[p.package] / p.path, p) for p in photos]
    missing = [f"{p.package}: {p.path}" for path, p in items if not path.is_file()]
    if missing:
        raise FileNotFoundError("listed file(s) not found in their package:\n  " + "\n  ".join(missing))
    return items


def load_rgb(path: Path) -> Image.Image:
    """Decode ``path`` to upright 8-bit RGB.

    Transparent cut-outs are cropped to the bounding box of their non-transparent
    pixels (a stamp's canvas is often mostly empty) and composited on
    ``BACKGROUND``, so no black or transparent junk reaches the corpus.
    """
    with open_image(path, max_pixels=None, max_sparse_pixels=None) as img:
        img = ImageOps.exif_transpose(load_within(img, path.name))
        if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
            rgba = img.convert("RGBA")
            box = rgba.getchannel("A").getbbox()
            if box is None:
                raise ValueError(f"{path}: image is fully transparent")
            rgba = rgba.crop(box)
            out = Image.new("RGB", rgba.size, BACKGROUND)
            out.paste(rgba, mask=rgba.getchannel("A"))
            return out
        return img.convert("RGB")


def fit_max_side(img: Image.Image, max_side: int = MAX_SIDE) -> Image.Image:
    """Downscale (Lanczos) so that the longer side is at most ``max_side``; never upscale."""
    w, h = img.size
    if max(w, h) <= max_side:
        return img
    scale = max_side / max(w, h)
    return img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.LANCZOS)


_k = np.arange(THUMB_SIZE)
_DCT = np.cos(np.pi * (2 * _k[None, :] + 1) * _k[:, None] / (2 * THUMB_SIZE))  # DCT-II basis, rows = frequency


def perceptual_hash(img: Image.Image, mirror: bool = False) -> np.ndarray:
    """pHash: (16, 16) bool array, low-frequency DCT coefficients above their median.

    Computed on a 32x32 gray thumbnail, so it ignores size, aspect and JPEG
    re-encoding; ``mirror`` hashes the left-right mirror image. Two hashes are
    compared by Hamming distance.
    """
    thumb = np.asarray(img.convert("L").resize((THUMB_SIZE, THUMB_SIZE), Image.BOX), dtype=np.float64)
    if mirror:
        thumb = thumb[:, ::-1]
    coeffs = (_DCT @ thumb @ _DCT.T)[:HASH_SIZE, :HASH_SIZE]
    return coeffs > np.median(coeffs.ravel()[1:])  # the DC term (brightness) stays out of the median


def split_of(package: str, path: str) -> str:
    """Deterministic split from SHA-256 of ``package/path``, mapped to [0, 1)."""
    digest = hashlib.sha256(f"{package}/{path}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    edge = 0.0
    for name, fraction in SPLITS:
        edge += fraction
        if u < edge:
            return name
    return SPLITS[-1][0]


def output_name(photo: Photo, suffix: str) -> str:
    """A short, filesystem-safe, unique name: last path parts + hash of package/path."""
    stem = "_".join(PurePosixPath(photo.path).with_suffix("").parts[-3:])
    stem = re.sub(r"[^A-Za-z0-9]+", "-", stem).strip("-")[:60] or "image"
    tag = hashlib.sha256(f"{photo.package}/{photo.path}".encode()).hexdigest()[:8]
    return f"{stem}-{tag}{suffix}"


def build_from_files(items: list[tuple[Path, Photo]], out: str | Path, max_side: int = MAX_SIDE,
                     near_dup_bits: int = NEAR_DUP_BITS, progress: bool = True) -> Summary:
    """Load, resize, de-duplicate, split and write ``items``; write OUT/manifest.csv.

    Items are processed in (package, path) order, so which copy of a duplicate
    survives does not depend on the CSV's row order. JPEG sources are written
    as JPEG (quality 95), everything else as PNG.
    """
    out = Path(out)
    summary = Summary()
    kept_hashes: list[np.ndarray] = []
    kept_photos: list[Photo] = []
    for path, photo in tqdm(sorted(items, key=lambda it: (it[1].package, it[1].path)),
                            desc="corpus", unit="img", disable=not progress):
        img = fit_max_side(load_rgb(path), max_side)
        h = perceptual_hash(img)
        if kept_hashes:
            stack = np.stack(kept_hashes)
            # A mirrored copy (tuxpaint ships *_mirror stamps) is a duplicate too.
            mirrored = perceptual_hash(img, mirror=True)
            dist = np.minimum((stack != h).sum(axis=(1, 2)), (stack != mirrored).sum(axis=(1, 2)))
            nearest = int(dist.argmin())
            if dist[nearest] <= near_dup_bits:
                summary.duplicates.append((photo, kept_photos[nearest]))
                continue
        kept_hashes.append(h)
        kept_photos.append(photo)

        split = split_of(photo.package, photo.path)
        is_jpeg = path.suffix.lower() in (".jpg", ".jpeg")
        name = output_name(photo, ".jpg" if is_jpeg else ".png")
        (out / split).mkdir(parents=True, exist_ok=True)
        if is_jpeg:
            img.save(out / split / name, quality=JPEG_QUALITY)
        else:
            img.save(out / split / name)
        summary.rows.append({"split": split, "file": f"{split}/{name}", "package": photo.package,
                             "path": photo.path, "licence": photo.licence, "subject": photo.subject,
                             "width": img.width, "height": img.height})
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "manifest.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        writer.writerows(summary.rows)
    return summary


def prepare_out(out: Path, force: bool) -> None:
    """Refuse to mix a new build with an old one unless ``force`` clears it."""
    old = [out / name for name in (*(s for s, _ in SPLITS), "manifest.csv") if (out / name).exists()]
    if old and not force:
        raise FileExistsError(f"{out} already holds a corpus ({old[0].name}); pass --force to rebuild it")
    for p in old:
        shutil.rmtree(p) if p.is_dir() else p.unlink()


def main(argv: list[str] | None = None) -> Summary:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="corpus folder to write")
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV, help="photo list (default: data/photos.csv)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                        help=f"unpacked packages, one folder each (default: {DEFAULT_CACHE})")
    parser.add_argument("--offline", action="store_true",
                        help="never call apt-get: every package must already be unpacked in --cache")
    parser.add_argument("--max-side", type=int, default=MAX_SIDE, help="longest side in pixels (default: 1024)")
    parser.add_argument("--force", action="store_true", help="replace an existing corpus in --out")
    args = parser.parse_args(argv)
    try:
        photos = read_photo_list(args.csv)
        items = locate(photos, args.cache.expanduser(), download=not args.offline)
        out = args.out.expanduser()
        prepare_out(out, args.force)
        summary = build_from_files(items, out, max_side=args.max_side)
    except (OSError, RuntimeError, ValueError) as e:
        sys.exit(f"build_corpus: error: {e}")
    print(summary.report())
    print(f"wrote {out / 'manifest.csv'}")
    return summary


if __name__ == "__main__":
    main()
