"""Reading one photo file for the batch command: upright 8-bit RGB, its alpha, or why not.

Pillow reports a bad file through many exception types (OSError, SyntaxError,
ValueError, struct.error, zlib.error, its decompression-bomb error …) whose
messages often name an internal buffer rather than the file. Here every way a
file can fail ends as a :class:`PhotoError` whose message is one line a user
can act on; the caller names the file.
"""

from __future__ import annotations

import struct
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from colorize.image_io import alpha_channel, pil_to_rgb, upright

# What the batch command picks up from a folder, compared in lower case.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp"})

# What Pillow's decoders raise on damaged data, besides OSError.
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError,
                 struct.error, zlib.error)


class PhotoError(Exception):
    """A file that cannot be read as a photo; ``str(error)`` is the one-line reason."""


@dataclass
class Photo:
    """A decoded photo, turned upright as its EXIF orientation says."""

    rgb: np.ndarray  # uint8 (H, W, 3), transparency composited on white (what the model sees)
    alpha: np.ndarray | None  # uint8 (H, W), 255 = opaque; None when the file has no transparency
    warnings: list[str] = field(default_factory=list)  # one line each, e.g. Pillow's large-image warning


def is_image_name(name: str) -> bool:
    """Whether a file name has one of ``IMAGE_SUFFIXES``, in any case."""
    return Path(name).suffix.lower() in IMAGE_SUFFIXES


def read_photo(path: Path) -> Photo:
    """Decode ``path``; raise :class:`PhotoError` for anything that is not a readable photo.

    Pillow's decompression-bomb limit (``Image.MAX_IMAGE_PIXELS``) stays as
    the user has it: above twice the limit the file is refused, between one
    and two times it is read with a warning.
    """
    if not path.is_file():
        # is_file() follows links, so a dangling link lands here, and so does
        # a FIFO, on which open() would wait forever.
        raise PhotoError("no such file: a dangling symbolic link" if path.is_symlink()
                         else "not a regular file")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", Image.DecompressionBombWarning)
        img = decode(path)
    try:
        img = upright(img)
        alpha = alpha_channel(img)
        rgb = np.asarray(pil_to_rgb(img))
    except (ValueError, OSError) as err:
        # pil_to_rgb's own errors are clear (e.g. 16-bit values out of range); OSError: a mode Pillow cannot convert.
        raise PhotoError(f"cannot convert its {img.mode} pixels to RGB: {err}") from None
    notes = [f"{w.category.__name__}: {w.message}" for w in caught]
    return Photo(rgb, None if alpha is None else np.asarray(alpha), notes)


def decode(path: Path) -> Image.Image:
    """Open and fully decode ``path`` (the first frame of an animation or multi-page file)."""
    try:
        with Image.open(path) as img:
            img.load()
            return img
    except Image.DecompressionBombError as err:
        raise PhotoError(f"refused as a possible decompression bomb: {err}") from None
    except UnidentifiedImageError:
        raise PhotoError("not an image file that Pillow can read") from None
    except (FileNotFoundError, PermissionError, IsADirectoryError) as err:
        raise PhotoError(f"cannot open it: {err.strerror}") from None
    except DECODE_ERRORS as err:
        raise PhotoError(f"corrupt or truncated image: {err or type(err).__name__}") from None
