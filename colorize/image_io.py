"""Turning what a user hands over (a path, a PIL image, a numpy array) into an sRGB tensor.

Every accepted input ends as float sRGB (3, H, W) in [0, 1]. Gray inputs are
replicated to three channels; transparency is composited on white (the
colour a transparent pixel shows in a viewer, and neutral in ab); EXIF
orientation is applied, so the output is upright like the photo on screen.
Anything else is a clear error: the input is never guessed at.
"""

from __future__ import annotations

import errno
import os
import stat
import struct
import threading
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from colorize.limits import DECODE_SECONDS, MAX_PIXELS, MAX_SPARSE_PIXELS, SPARSE_PIXELS_PER_BYTE

# Transparent pixels are composited on white: the corpus' cut-outs (tuxpaint
# stamps) are drawn for a white page, and white has a = b = 0, so it adds no
# spurious chroma to the ab targets.
BACKGROUND = (255, 255, 255)
ImageInput = str | Path | Image.Image | np.ndarray
# What Pillow's decoders raise on damaged data: it reports a bad file through many types.
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError,
                 struct.error, zlib.error)


class UnreadableImage(ValueError):
    """A file that is not an image the product reads; ``reason`` is the one line without the name."""

    def __init__(self, name: str, reason: str):
        self.name, self.reason = name, reason
        super().__init__(f"{name}: {reason}")


class ImageTooLarge(UnreadableImage):
    """An image whose header gives more pixels than the caller takes; nothing was decoded."""

    def __init__(self, name: str, width: int, height: int, max_pixels: int):
        self.width, self.height, self.max_pixels = width, height, max_pixels
        super().__init__(name, f"{width}×{height} pixels ({width * height / 1e6:.0f} megapixels); "
                               f"the limit is {max_pixels / 1e6:g} megapixels")


class ImageTooSparse(UnreadableImage):
    """A file far smaller than the image its header claims, above the sparse limit; nothing was decoded."""


class SparseImageWarning(UserWarning):
    """A file far smaller than the image its header claims, read because it is below the sparse limit."""


class DecodeTimeout(UnreadableImage):
    """A decode that took longer than its time bound; it was abandoned."""


# The formats Pillow may decode, whatever a file is named. Never EPS, PS or
# PDF: Pillow hands those to Ghostscript, a program that runs the file.
SUPPORTED_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF", "BMP", "GIF")
# What a folder's photos are picked up by, compared in lower case.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif"})
# The first bytes of formats that are refused, so that the error names what the file really is.
FOREIGN_SIGNATURES = (
    (b"%!PS", 0, "a PostScript or EPS file"),
    (b"\xc5\xd0\xd3\xc6", 0, "an EPS file"),
    (b"%PDF", 0, "a PDF file"),
    (b"8BPS", 0, "a Photoshop file"),
    (b"\x00\x00\x00\x0cjP  ", 0, "a JPEG 2000 file"),
    (b"\xff\x4f\xff\x51", 0, "a JPEG 2000 file"),
    (b"ftypheic", 4, "a HEIC file"),
    (b"ftypavif", 4, "an AVIF file"),
    (b"<svg", 0, "an SVG drawing"),
    (b"<?xml", 0, "an XML file"),
)
SUPPORTED_NAMES = "PNG, JPEG, WebP, TIFF, BMP or GIF"


def is_image_name(name: str) -> bool:
    """Whether a file name has one of ``IMAGE_SUFFIXES``, in any case."""
    return Path(name).suffix.lower() in IMAGE_SUFFIXES


def check_regular_file(path: Path) -> None:
    """Raise FileNotFoundError for a missing file or dangling link, UnreadableImage for what is
    not a regular file (a folder, a FIFO, a device, a link loop); open() could wait forever on some."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"no such image file: {path.name}"
                                + (" (a dangling symbolic link)" if path.is_symlink() else "")) from None
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise UnreadableImage(path.name, "a loop of symbolic links, not an image file") from None
        raise UnreadableImage(path.name, f"cannot open it: {err.strerror}") from None
    if stat.S_ISDIR(mode):
        raise UnreadableImage(path.name, "a folder, not an image file")
    if not stat.S_ISREG(mode):
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) \
            else "a socket" if stat.S_ISSOCK(mode) else "not a regular file"
        raise UnreadableImage(path.name, f"{kind}, not an image file")


def foreign_format(path: Path) -> str | None:
    """What a file that Pillow may not decode really is, from its first bytes; None if unknown."""
    try:
        with open(path, "rb") as file:
            head = file.read(16)
    except OSError:
        return None
    for signature, offset, kind in FOREIGN_SIGNATURES:
        if head[offset:offset + len(signature)] == signature:
            return kind
    return None


@contextmanager
def open_image(path: str | Path, max_pixels: int | None = MAX_PIXELS,
               max_sparse_pixels: int | None = MAX_SPARSE_PIXELS) -> Iterator[Image.Image]:
    """The one way the product opens an image file for decoding.

    Only ``SUPPORTED_FORMATS`` are tried, whatever the file is named. Pillow
    opens lazily: only the header is read here, and the size it gives is
    checked against ``max_pixels`` (and Pillow's decompression-bomb limit)
    before a single pixel is decoded, so a small file that claims a huge
    image costs nothing. A file of fewer than one byte per
    ``SPARSE_PIXELS_PER_BYTE`` pixels is refused above ``max_sparse_pixels``
    (:class:`ImageTooSparse`) and read with a :class:`SparseImageWarning`
    below it. None lifts a limit. The caller decodes (``draft`` or ``reduce``
    first if it likes, then :func:`load_within`). Raises FileNotFoundError,
    or :class:`UnreadableImage`, :class:`ImageTooLarge` or :class:`ImageTooSparse`
    (ValueErrors), each with a one-line message that names the file but no folder.
    """
    path = Path(path)
    check_regular_file(path)
    try:
        img = Image.open(path, formats=SUPPORTED_FORMATS)
    except UnidentifiedImageError:
        kind = foreign_format(path)
        raise UnreadableImage(path.name, f"{kind or 'not an image file'}; colorize reads "
                                         f"{SUPPORTED_NAMES} files") from None
    except Image.DecompressionBombError as err:
        raise UnreadableImage(path.name, f"refused as a possible decompression bomb: {err}") from None
    except DECODE_ERRORS as err:
        raise UnreadableImage(path.name, f"a damaged image file: {error_text(err)}") from None
    with img:
        width, height = img.size
        pixels = width * height
        if max_pixels is not None and pixels > max_pixels:
            raise ImageTooLarge(path.name, width, height, max_pixels)
        size = os.stat(path).st_size
        if pixels > SPARSE_PIXELS_PER_BYTE * size:
            reason = (f"declares {width}×{height} pixels in only {size:,} bytes, far fewer than any "
                      "photo of that size (a damaged file or a decompression bomb)")
            if max_sparse_pixels is not None and pixels > max_sparse_pixels:
                raise ImageTooSparse(path.name, f"{reason}; refused above {max_sparse_pixels / 1e6:g} "
                                                "megapixels (a limit that can be raised)")
            warnings.warn(f"{path.name}: {reason}", SparseImageWarning, stacklevel=3)
        yield img


def error_text(err: BaseException) -> str:
    """A decoder's error as a short phrase: its strerror, its message, or its type's name."""
    return str(getattr(err, "strerror", None) or err or type(err).__name__).splitlines()[0][:200]


def load_within(img: Image.Image, name: str = "the image", seconds: float | None = None) -> Image.Image:
    """``img.load()``, abandoned with :class:`DecodeTimeout` after ``seconds`` (None: ``DECODE_SECONDS``).

    The decode runs in a daemon thread (Pillow's decoders release the GIL);
    one that overruns is left to finish or fail on its own, and the caller,
    a batch or the page's worker, goes on. Pillow's decode errors become
    :class:`UnreadableImage`.
    """
    seconds = DECODE_SECONDS if seconds is None else seconds
    outcome: list[BaseException] = []

    def decode() -> None:
        try:
            img.load()
        except BaseException as err:  # noqa: BLE001 -- handed to the caller's thread
            outcome.append(err)

    worker = threading.Thread(target=decode, name="colorize-decode", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise DecodeTimeout(name, f"decoding took longer than {seconds:g} s and was abandoned")
    if outcome:
        err = outcome[0]
        if isinstance(err, Image.DecompressionBombError):
            raise UnreadableImage(name, f"refused as a possible decompression bomb: {err}") from None
        if isinstance(err, DECODE_ERRORS):
            raise UnreadableImage(name, f"corrupt or truncated image: {error_text(err)}") from None
        raise err
    return img


def upright(img: Image.Image) -> Image.Image:
    """``img`` turned as its EXIF orientation says; ``img`` itself when it is already upright.

    Unlike ``ImageOps.exif_transpose`` this makes no copy of an upright image:
    at 50 megapixels a copy is 200 MB.
    """
    if img.getexif().get(ExifTags.Base.Orientation, 1) == 1:
        return img
    return ImageOps.exif_transpose(img)


def has_alpha(img: Image.Image) -> bool:
    """Whether ``img`` has transparency: an alpha band, or a transparent palette index or colour."""
    return img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info


def alpha_channel(img: Image.Image) -> Image.Image | None:
    """The transparency of ``img`` as an 8-bit ``L`` image (255 = opaque), or None if it has none."""
    if not has_alpha(img):
        return None
    if "A" in img.getbands():
        return img.getchannel("A")
    return img.convert("RGBA").getchannel("A")


def pil_to_rgb(img: Image.Image) -> Image.Image:
    """Any PIL image → upright 8-bit RGB, transparency composited on ``BACKGROUND``."""
    img = upright(img)
    if has_alpha(img):
        rgba = img.convert("RGBA")
        img = Image.new("RGB", rgba.size, BACKGROUND)
        img.paste(rgba, mask=rgba.getchannel("A"))
        return img
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        # 16-bit and float gray: PIL's convert("RGB") clips instead of scaling.
        return Image.fromarray(array_to_uint8(np.asarray(img))).convert("RGB")
    return img.convert("RGB")


def array_to_uint8(array: np.ndarray) -> np.ndarray:
    """A high-depth gray PIL array → uint8: integers above 255 are 16-bit, floats are [0, 1] or [0, 255]."""
    if np.issubdtype(array.dtype, np.integer):
        if array.size and (array.min() < 0 or array.max() > 65535):
            raise ValueError(f"integer image values must lie in [0, 65535], got {array.max()}")
        scale = 257.0 if array.size and array.max() > 255 else 1.0
    else:
        if not np.isfinite(array).all():
            raise ValueError("the image contains NaN or infinity")
        scale = 1 / 255 if array.size and array.max() <= 1 else 1.0
    return np.clip(np.round(array.astype(np.float64) / scale), 0, 255).astype(np.uint8)


def array_to_rgb(array: np.ndarray) -> torch.Tensor:
    """(H, W), (H, W, 1), (H, W, 3) or (H, W, 4) → float sRGB (3, H, W) in [0, 1].

    uint8 is 0–255, uint16 0–65535, floats must already lie in [0, 1]. An
    alpha channel is composited on white.
    """
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise ValueError(
            f"an image array must be (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got {array.shape}"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"the image is empty: {array.shape}")
    if array.dtype == bool:
        raise ValueError("a boolean array is a mask, not an image")
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise ValueError("the image array contains NaN or infinity")
        if array.min() < 0 or array.max() > 1:
            raise ValueError(
                f"a float image must lie in [0, 1], got [{array.min():.3g}, {array.max():.3g}]; "
                "divide 8-bit values by 255"
            )
        values = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
    elif np.issubdtype(array.dtype, np.integer):
        scale = 65535.0 if array.dtype == np.uint16 else 255.0
        if array.min() < 0 or array.max() > scale:
            raise ValueError(f"integer image values must lie in [0, {scale:.0f}]")
        values = torch.from_numpy(array.astype(np.float32) / scale)
    else:
        raise ValueError(f"cannot read an image array of dtype {array.dtype}")
    values = values.permute(2, 0, 1)
    if values.shape[0] == 4:
        alpha = values[3:]
        values = values[:3] * alpha + (1 - alpha) * values.new_tensor(BACKGROUND)[:, None, None] / 255
    if values.shape[0] == 1:
        values = values.expand(3, -1, -1)
    return values.contiguous()


def load_array(image: ImageInput, max_pixels: int | None = MAX_PIXELS,
               max_sparse_pixels: int | None = MAX_SPARSE_PIXELS) -> np.ndarray:
    """A path, PIL image or numpy array → its pixels as an array: upright 8-bit RGB (H, W, 3)
    for a file or PIL image (:func:`pil_to_rgb`), the array itself otherwise (checked by
    :func:`array_to_rgb` when it is converted).

    A path is opened by :func:`open_image` with the pixel limits and decoded
    by :func:`load_within`. Raises FileNotFoundError for a missing path,
    ValueError for a file that is not a readable image (or too large),
    TypeError for anything else.
    """
    if isinstance(image, (str, Path)):
        with open_image(image, max_pixels, max_sparse_pixels) as img:
            return np.asarray(pil_to_rgb(load_within(img, Path(image).name)))
    if isinstance(image, Image.Image):
        return np.asarray(pil_to_rgb(image))
    if isinstance(image, np.ndarray):
        return image
    raise TypeError(
        f"image must be a path, a PIL image or a numpy array, got {type(image).__name__}"
    )


def is_rgb8(array: np.ndarray) -> bool:
    """Whether ``array`` is a non-empty 8-bit RGB image (H, W, 3), the form photos are read in."""
    return array.dtype == np.uint8 and array.ndim == 3 and array.shape[2] == 3 and array.size > 0


def load_image(image: ImageInput, max_pixels: int | None = MAX_PIXELS) -> torch.Tensor:
    """A path, PIL image or numpy array → float sRGB (3, H, W) in [0, 1].

    The errors of :func:`load_array` and :func:`array_to_rgb`.
    """
    return array_to_rgb(load_array(image, max_pixels))


def tensor_to_uint8(rgb: torch.Tensor) -> np.ndarray:
    """float sRGB (3, H, W) in [0, 1] → uint8 array (H, W, 3), rounded and clamped."""
    return (rgb.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()


def tensor_to_pil(rgb: torch.Tensor) -> Image.Image:
    """float sRGB (3, H, W) in [0, 1] → 8-bit RGB PIL image (rounded, clamped)."""
    return Image.fromarray(tensor_to_uint8(rgb), mode="RGB")
