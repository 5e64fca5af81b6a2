"""Where a data folder's splits are, and the crops the models train on.

Two kinds of data folder are accepted:

* a corpus built by ``data/build_corpus.py``, with ``train/``, ``val/`` and
  ``test/`` subfolders;
* any folder of photos (searched recursively). Photos whose file-name
  prefix (the part before the first "-") names one of ``HELD_OUT_SOURCES``
  form the ``heldout`` split and never train: photos of one source share a
  look (a camera, a place, a crop), so a split inside the sources scores a
  model on sources it trained on and flatters it. Of the other photos, the
  validation split is those whose content hash falls in the first
  ``VAL_PERCENT`` of the hash range, and the rest train. That split depends
  on the bytes of each file alone: not on its name, the folder's order or the
  other files, so adding photos never moves an old one between the splits.
  Such a folder has no test split.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from colorize.color import NUM_AB_BINS, NUM_RGB_CLASSES
from colorize.dataset import ColorizerCrops, ImageCrops, list_images

# Training crops are fixed functions of their index (deterministic=True), and
# each image offers this many distinct ones: the trainer draws indices per
# step, so a run is reproducible and resumable to the bit.
TRAIN_CROPS_PER_IMAGE = 100_000

# Classes per channel for each representation: 8-bit RGB and the 32 ab bins.
CHANNEL_SETUPS = {"rgb": (3, NUM_RGB_CLASSES), "ab": (2, NUM_AB_BINS)}

# Of a plain photo folder, this share (in per cent of the hash range) validates:
# 3 % of 9,943 photos is about 300.
VAL_PERCENT = 3
SPLITS = ("train", "val", "test", "heldout")
# Whole sources kept out of training, to validate on photos of sources the
# model never saw: the scene sets (street scenes from a car, city
# architecture, varied scenes, web landscapes and rooms, portraits) and the
# small benchmark sets; 534 of the 9,943 photos the default model knows.
HELD_OUT_SOURCES = frozenset({
    "camvid", "urban100", "sunhays80", "dpst", "deepface",
    "mcmaster18", "realsr_gt", "live1", "set14", "realsrset", "set5",
})


def photo_source(path: Path) -> str:
    """The source a photo comes from: its file name up to the first "-" (``camvid-0f3a.jpg``: camvid)."""
    return path.name.split("-", 1)[0].lower()


def content_percentile(path: Path) -> int:
    """Where the file's SHA-256 falls in the hash range, in [0, 100)."""
    stat = path.stat()
    return _percentile_of_bytes(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=None)
def _percentile_of_bytes(path: str, size: int, mtime_ns: int) -> int:
    # A training run asks for the train, val and grid splits of one folder:
    # each file is hashed once per process, again only if it has changed.
    digest = hashlib.sha256(Path(path).read_bytes()).digest()
    return int.from_bytes(digest[:8], "big") * 100 >> 64


def split_images(root: str | Path, split: str) -> list[Path] | None:
    """The images of ``split`` ("train", "val", "test" or "heldout") of a data folder, or None
    if it has none.

    A corpus (``root/train`` etc. exist) gives the images of that subfolder;
    a plain photo folder is split by source, then by content hash (see the
    module docstring).
    A plain folder so small that no photo falls in the validation range has
    no validation split, and trains on everything.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; splits: {', '.join(SPLITS)}")
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"data folder {root} does not exist")
    if (root / split).is_dir():
        return list_images(root / split)
    if any((root / name).is_dir() for name in SPLITS) or split == "test":
        return None
    paths = list_images(root)
    held_out_sources = [p for p in paths if photo_source(p) in HELD_OUT_SOURCES]
    if split == "heldout":
        return held_out_sources or None
    if held_out_sources:
        kept = set(held_out_sources)
        paths = [p for p in paths if p not in kept]
    val = [p for p in paths if content_percentile(p) < VAL_PERCENT]
    if split == "val":
        return val or None
    held_out = set(val)
    return [p for p in paths if p not in held_out]


def required_split(root: str | Path, split: str) -> list[Path]:
    """:func:`split_images`, with a clear error when the folder has no such split."""
    paths = split_images(root, split)
    if paths is None:
        raise FileNotFoundError(f"data folder {root} has no {split!r} split")
    return paths


def crops(root: str | Path, split: str, size: int, channels: str, train: bool, **kwargs) -> ImageCrops:
    """Random crops with flips for training; fixed crops, unflipped, for evaluation.

    Both are seeded functions of the item index (``seed`` in ``kwargs``).
    """
    paths = required_split(root, split)
    if train:
        kwargs.setdefault("crops_per_image", TRAIN_CROPS_PER_IMAGE)
        return ImageCrops(paths, size, channels, deterministic=True, flip=True, **kwargs)
    return ImageCrops(paths, size, channels, deterministic=True, flip=False, **kwargs)


def colorizer_crops(root: str | Path, split: str, train: bool, **kwargs) -> ColorizerCrops:
    """The colorizer's crops (gray, full-res ab, 28×28 bins), random for training, fixed otherwise."""
    paths = required_split(root, split)
    if train:
        kwargs.setdefault("crops_per_image", TRAIN_CROPS_PER_IMAGE)
    return ColorizerCrops(paths, deterministic=True, flip=train, **kwargs)


def evaluation_crops(paths: list[Path], size: int) -> ColorizerCrops:
    """One fixed, unflipped crop of each photo's full shorter side at ``size``: what the
    evaluations score and the figures show, the same photo for photo wherever it is used."""
    return ColorizerCrops(paths, size=size, min_scale=1.0, deterministic=True, flip=False,
                          crops_per_image=1, seed=0)
