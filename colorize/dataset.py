"""Random square crops from a folder of photos, as class-index tensors.

Two targets share one pipeline: 8-bit RGB for the PixelRNN/PixelCNN baselines
(van den Oord et al. 2016, Sec. 5: 256 classes per channel) and quantized Lab
chroma ab for the colorizer (PixColor Sec. 3.2: 32 bins per channel), with the
lightness L alongside when asked for.

By default every image is decoded when an item needs it, so that the decoding
runs in the DataLoader's worker processes rather than on the training's own
cores, and memory does not grow with the photo collection. ``preload=True``
decodes every image once at construction and keeps a downscaled uint8 copy in
memory instead, for small folders read many times without workers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from colorize.color import NUM_AB_BINS, NUM_RGB_CLASSES, quantize_ab, quantize_rgb, rgb_to_lab
from colorize.image_io import load_within, open_image, pil_to_rgb
from colorize.seeds import derived_seed

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"})
CHANNELS = ("rgb", "ab")


def list_images(root: str | Path) -> list[Path]:
    """All image files under ``root``, recursively, sorted.

    Extensions (case-insensitive): png jpg jpeg webp bmp tif tiff. Hidden files
    (name starting with ".", e.g. macOS "._x.jpg" forks) are skipped.
    """
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"image folder does not exist: {root}")
    if not root.is_dir():
        raise NotADirectoryError(f"image folder is not a directory: {root}")
    paths = sorted(
        p for p in root.rglob("*")
        if p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".") and p.is_file()
    )
    if not paths:
        raise ValueError(
            f"no images found in {root} (extensions: {', '.join(sorted(IMAGE_EXTENSIONS))})"
        )
    return paths


def load_rgb(path: Path, max_short_side: int | None = None) -> Image.Image:
    """Decode ``path`` to an upright 8-bit RGB PIL image.

    EXIF orientation is applied, transparency is composited on white (``colorize.image_io.BACKGROUND``),
    and if ``max_short_side`` is given the image is downscaled (antialiased)
    so that its shorter side is at most that many pixels.
    """
    # The product's one file reader (supported formats only, a time bound on
    # the decode); a training photo has no pixel limit.
    with open_image(path, max_pixels=None, max_sparse_pixels=None) as img:
        if max_short_side is not None:
            # JPEG draft decoding at 1/2, 1/4, 1/8 scale: it keeps both sides
            # >= the request, so the shorter side stays >= max_short_side.
            img.draft("RGB", (max_short_side, max_short_side))
        img = pil_to_rgb(load_within(img, Path(path).name))
    short = min(img.size)
    if max_short_side is not None and short > max_short_side:
        w, h = img.size
        new = (max(1, round(w * max_short_side / short)), max(1, round(h * max_short_side / short)))
        img = img.resize(new, Image.Resampling.BILINEAR, reducing_gap=3.0)
    return img


class ImageCrops(Dataset):
    """Random square crops of the images under ``root``, as class indices.

    Each access draws a crop whose side is a uniform fraction in
    [min_scale, 1] of the image's shorter side, at a uniform position, resizes
    it (antialiased bilinear) to ``size`` x ``size``, and flips it horizontally
    with probability 1/2 when ``flip``.

    Item ``i`` uses image ``i % num_images``; ``len`` is
    ``num_images * crops_per_image``.

    Items:
        channels="rgb": int64 (3, size, size), values in [0, num_classes)
            (default 256: the 8-bit values themselves).
        channels="ab": int64 (2, size, size), quantized ab in [0, num_classes)
            (default 32 bins, see ``colorize.color.quantize_ab``).
            With ``return_l=True`` the item is a tuple ``(l, ab_classes)`` where
            ``l`` is float32 (1, size, size), the lightness L in [0, 100]
            (not normalised; see ``colorize.color.normalize_l``).

    Randomness comes from torch's global RNG, which DataLoader seeds per
    worker. With ``deterministic=True`` item ``i`` is always the same crop
    (a generator seeded from ``seed`` and ``i``), for held-out evaluation.

    Args:
        root: folder searched recursively (see ``list_images``), or the list
            of image paths itself (a split of a folder, see ``pipelines.corpus``).
        size: output side in pixels, >= 1.
        channels: "rgb" or "ab".
        num_classes: classes per channel; None means 256 (rgb) or 32 (ab).
        min_scale: smallest crop side as a fraction of the shorter side, (0, 1].
        flip: random horizontal flips.
        deterministic: item i is a fixed function of (seed, i).
        seed: seed for deterministic mode.
        cache_side: images are cached with shorter side at most this; None
            means ceil(2 * size / min_scale), so even the smallest crop is
            downscaled from about twice the output resolution.
        crops_per_image: items per image per epoch, >= 1.
        return_l: with channels="ab", also return L (see Items).
        preload: decode every image at construction and keep it in memory,
            rather than decode it at each access (see the module docstring).
    """

    def __init__(
        self,
        root: str | Path | Sequence[Path],
        size: int,
        channels: str = "rgb",
        num_classes: int | None = None,
        min_scale: float = 0.25,
        flip: bool = True,
        deterministic: bool = False,
        seed: int = 0,
        cache_side: int | None = None,
        crops_per_image: int = 1,
        return_l: bool = False,
        preload: bool = False,
    ) -> None:
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be an int >= 1, got {size!r}")
        if channels not in CHANNELS:
            raise ValueError(f"channels must be one of {CHANNELS}, got {channels!r}")
        if num_classes is None:
            num_classes = NUM_RGB_CLASSES if channels == "rgb" else NUM_AB_BINS
        max_classes = NUM_RGB_CLASSES if channels == "rgb" else None
        if not isinstance(num_classes, int) or num_classes < 2 or (
            max_classes is not None and num_classes > max_classes
        ):
            limit = f" and <= {max_classes}" if max_classes is not None else ""
            raise ValueError(f"num_classes must be an int >= 2{limit}, got {num_classes!r}")
        if not 0.0 < min_scale <= 1.0:
            raise ValueError(f"min_scale must be in (0, 1], got {min_scale!r}")
        if cache_side is None:
            cache_side = math.ceil(2 * size / min_scale)
        if not isinstance(cache_side, int) or cache_side < size:
            raise ValueError(f"cache_side must be an int >= size ({size}), got {cache_side!r}")
        if not isinstance(crops_per_image, int) or crops_per_image < 1:
            raise ValueError(f"crops_per_image must be an int >= 1, got {crops_per_image!r}")
        if return_l and channels != "ab":
            raise ValueError("return_l=True needs channels='ab'")

        if isinstance(root, (str, Path)):
            self.paths = list_images(root)
        else:
            self.paths = [Path(p) for p in root]
            if not self.paths:
                raise ValueError("the list of image paths is empty")
        self.size = size
        self.channels = channels
        self.num_classes = num_classes
        self.min_scale = float(min_scale)
        self.flip = flip
        self.deterministic = deterministic
        self.seed = seed
        self.cache_side = cache_side
        self.crops_per_image = crops_per_image
        self.return_l = return_l
        self.images = [load_rgb(p, cache_side) for p in self.paths] if preload else None

    def __len__(self) -> int:
        return len(self.paths) * self.crops_per_image

    def image(self, number: int) -> Image.Image:
        """Image ``number`` of ``self.paths``, decoded and downscaled to ``cache_side``."""
        if self.images is not None:
            return self.images[number]
        return load_rgb(self.paths[number], self.cache_side)

    def _crop(self, index: int) -> Image.Image:
        """Draw the random crop for item ``index``: PIL RGB, size x size."""
        img = self.image(index % len(self.paths))
        gen = None
        if self.deterministic:
            gen = torch.Generator().manual_seed(derived_seed(self.seed, index))
        w, h = img.size
        short = min(w, h)
        frac = self.min_scale + (1.0 - self.min_scale) * torch.rand((), generator=gen).item()
        side = max(1, min(short, round(frac * short)))
        x0 = int(torch.randint(0, w - side + 1, (), generator=gen))
        y0 = int(torch.randint(0, h - side + 1, (), generator=gen))
        crop = img.resize(
            (self.size, self.size), Image.Resampling.BILINEAR, box=(x0, y0, x0 + side, y0 + side)
        )
        if self.flip and torch.rand((), generator=gen).item() < 0.5:
            crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        return crop

    def __getitem__(self, index: int) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} items")
        crop = np.asarray(self._crop(index))  # (size, size, 3) uint8
        rgb = torch.from_numpy(crop.copy()).permute(2, 0, 1).float() / 255.0
        if self.channels == "rgb":
            return quantize_rgb(rgb, self.num_classes)
        lab = rgb_to_lab(rgb)
        ab = quantize_ab(lab[1:], self.num_classes)
        if self.return_l:
            return lab[:1], ab
        return ab


class ColorizerCrops(ImageCrops):
    """Crops for the colorizer: the gray input and the chroma targets at both resolutions.

    PixColor (Guadarrama et al. 2017), Sec. 3.2–3.3: the PixelCNN is trained on
    the crop's chroma averaged down to ``lowres`` × ``lowres`` and quantized;
    the refinement network learns to map exactly those bins (snapped to their
    centres) back to the full-resolution chroma.

    Items are dicts of tensors, for a crop resized to S = ``size``:
        "l": float32 (1, S, S), L in [0, 100];
        "ab": float32 (2, S, S), ab in Lab units;
        "bins": int64 (2, lowres, lowres), the area-averaged ab, quantized.

    The remaining arguments are those of :class:`ImageCrops`. The default
    cache keeps every image at ``size / min_scale`` on its shorter side, so even
    the smallest crop is downscaled, never upscaled.
    """

    def __init__(self, root: str | Path | Sequence[Path], size: int = 224, lowres: int = 28,
                 min_scale: float = 0.5, cache_side: int | None = None, **kwargs) -> None:
        if not isinstance(lowres, int) or lowres < 1 or size % lowres:
            raise ValueError(f"lowres must be an int dividing size ({size}), got {lowres!r}")
        if cache_side is None:
            cache_side = math.ceil(size / min_scale)
        super().__init__(root, size, "ab", min_scale=min_scale, cache_side=cache_side, **kwargs)
        self.lowres = lowres

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} items")
        crop = np.asarray(self._crop(index))
        lab = rgb_to_lab(torch.from_numpy(crop.copy()).permute(2, 0, 1).float() / 255.0)
        ab = lab[1:]
        # The mean chroma of each cell, as a 28×28 image of the crop would have it.
        ab_low = torch.nn.functional.avg_pool2d(ab[None], self.size // self.lowres)[0]
        return {"l": lab[:1], "ab": ab, "bins": quantize_ab(ab_low, self.num_classes)}
