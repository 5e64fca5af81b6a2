"""Reading one photo file for the batch command: upright 8-bit RGB, its alpha, or why not.

The file is opened and decoded by :mod:`colorize.image_io` (the supported
formats only, size limits from the header, a time bound on the decode); every
way it can fail ends here as a :class:`PhotoError` whose message is one line a
user can act on; the caller names the file.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from colorize.image_io import (IMAGE_SUFFIXES, SparseImageWarning, UnreadableImage, alpha_channel, is_image_name, load_within,
                               open_image, pil_to_rgb, upright)
from colorize.limits import MAX_PIXELS, MAX_SPARSE_PIXELS

__all__ = ["IMAGE_SUFFIXES", "Photo", "PhotoError", "is_image_name", "read_photo"]


class PhotoError(Exception):
    """A file that cannot be read as a photo; ``str(error)`` is the one-line reason."""


@dataclass
class Photo:
    """A decoded photo, turned upright as its EXIF orientation says."""

    rgb: np.ndarray  # uint8 (H, W, 3), transparency composited on white (what the model sees)
    alpha: np.ndarray | None  # uint8 (H, W), 255 = opaque; None when the file has no transparency
    warnings: list[str] = field(default_factory=list)  # one line each, e.g. Pillow's large-image warning


def read_photo(path: Path, max_pixels: int | None = MAX_PIXELS,
               max_sparse_pixels: int | None = MAX_SPARSE_PIXELS) -> Photo:
    """Decode ``path``; raise :class:`PhotoError` for anything that is not a readable photo.

    The limits are :func:`colorize.image_io.open_image`'s. Pillow's
    decompression-bomb limit (``Image.MAX_IMAGE_PIXELS``) stays as the user
    has it: above twice the limit the file is refused, between one and two
    times it is read with a warning.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        img = decode(path, max_pixels, max_sparse_pixels)
    try:
        img = upright(img)
        alpha = alpha_channel(img)
        rgb = np.asarray(pil_to_rgb(img))
    except (ValueError, OSError) as err:
        # pil_to_rgb's own errors are clear (e.g. 16-bit values out of range); OSError: a mode Pillow cannot convert.
        raise PhotoError(f"cannot convert its {img.mode} pixels to RGB: {err}") from None
    notes = [f"{w.category.__name__}: {w.message}" for w in caught
             if issubclass(w.category, (Image.DecompressionBombWarning, SparseImageWarning))]
    return Photo(rgb, None if alpha is None else np.asarray(alpha), notes)


def decode(path: Path, max_pixels: int | None, max_sparse_pixels: int | None) -> Image.Image:
    """Open and fully decode ``path`` (the first frame of an animation or multi-page file)."""
    try:
        with open_image(path, max_pixels, max_sparse_pixels) as img:
            return load_within(img, path.name)
    except UnreadableImage as err:
        raise PhotoError(err.reason) from None
    except FileNotFoundError:
        raise PhotoError("no such file: a dangling symbolic link" if path.is_symlink()
                         else "no such file") from None
    except (PermissionError, IsADirectoryError) as err:
        raise PhotoError(f"cannot open it: {err.strerror}") from None
