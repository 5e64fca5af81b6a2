"""Where a data folder's splits are, and the crops the baselines train on."""

from __future__ import annotations

from pathlib import Path

from colorize.dataset import ColorizerCrops, ImageCrops

# Training crops are fixed functions of their index (deterministic=True), and
# each image offers this many distinct ones: the trainer draws indices per
# step, so a run is reproducible and resumable to the bit.
TRAIN_CROPS_PER_IMAGE = 100_000

# Classes per channel for each representation (DESIGN.md: 8-bit RGB, 32-bin ab).
CHANNEL_SETUPS = {"rgb": (3, 256), "ab": (2, 32)}


def split_dir(root: str | Path, split: str) -> Path | None:
    """``root/split`` for a corpus built by ``data/build_corpus.py``.

    A plain folder of images has no splits: it serves as the training split
    and has no validation or test split (``None``).
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"data folder {root} does not exist")
    if (root / split).is_dir():
        return root / split
    if any((root / name).is_dir() for name in ("train", "val", "test")):
        return None
    return root if split == "train" else None


def crops(root: str | Path, split: str, size: int, channels: str, train: bool, **kwargs) -> ImageCrops:
    """Random crops with flips for training; fixed crops, unflipped, for evaluation.

    Both are seeded functions of the item index (``seed`` in ``kwargs``).
    """
    folder = split_dir(root, split)
    if folder is None:
        raise FileNotFoundError(f"data folder {root} has no {split!r} split")
    if train:
        kwargs.setdefault("crops_per_image", TRAIN_CROPS_PER_IMAGE)
        return ImageCrops(folder, size, channels, deterministic=True, flip=True, **kwargs)
    return ImageCrops(folder, size, channels, deterministic=True, flip=False, **kwargs)


def colorizer_crops(root: str | Path, split: str, train: bool, **kwargs) -> ColorizerCrops:
    """The colorizer's crops (gray, full-res ab, 28×28 bins), random for training, fixed otherwise."""
    folder = split_dir(root, split)
    if folder is None:
        raise FileNotFoundError(f"data folder {root} has no {split!r} split")
    if train:
        kwargs.setdefault("crops_per_image", TRAIN_CROPS_PER_IMAGE)
    return ColorizerCrops(folder, deterministic=True, flip=train, **kwargs)
