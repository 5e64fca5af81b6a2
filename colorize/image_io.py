"""Turning what a user hands over (a path, a PIL image, a numpy array) into an sRGB tensor.

Every accepted input ends as float sRGB (3, H, W) in [0, 1]. Gray inputs are
replicated to three channels; transparency is composited on white (the
colour a transparent pixel shows in a viewer, and neutral in ab); EXIF
orientation is applied, so the output is upright like the photo on screen.
Anything else is a clear error: the input is never guessed at.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

# Transparent pixels are composited on white: the corpus' cut-outs (tuxpaint
# stamps) are drawn for a white page, and white has a = b = 0, so it adds no
# spurious chroma to the ab targets.
BACKGROUND = (255, 255, 255)
ImageInput = str | Path | Image.Image | np.ndarray


class UnreadableImage(ValueError):
    """A file that Pillow cannot open as an image (its error is the ``__cause__``)."""


class ImageTooLarge(ValueError):
    """An image whose header gives more pixels than the caller takes; nothing was decoded."""

    def __init__(self, name: str, width: int, height: int, max_pixels: int):
        self.width, self.height, self.max_pixels = width, height, max_pixels
        super().__init__(f"{name} is {width}×{height} pixels ({width * height / 1e6:.0f} megapixels); "
                         f"the limit is {max_pixels / 1e6:g} megapixels")


@contextmanager
def open_image(path: str | Path, max_pixels: int | None = None) -> Iterator[Image.Image]:
    """The one way the library and the web page open an image file for decoding.

    Pillow opens lazily: only the header is read here, and the size it gives
    is checked against ``max_pixels`` (and Pillow's decompression-bomb limit)
    before a single pixel is decoded, so a small file that claims a huge
    image costs nothing. The caller decodes (``load``, ``draft``, ``reduce``).
    Raises :class:`UnreadableImage` or :class:`ImageTooLarge`, both ValueErrors.
    """
    try:
        img = Image.open(path)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as err:
        raise UnreadableImage(f"cannot decode image {path}: {err}") from err
    with img:
        width, height = img.size
        if max_pixels is not None and width * height > max_pixels:
            raise ImageTooLarge(Path(path).name, width, height, max_pixels)
        yield img


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


def load_array(image: ImageInput, max_pixels: int | None = None) -> np.ndarray:
    """A path, PIL image or numpy array → its pixels as an array: upright 8-bit RGB (H, W, 3)
    for a file or PIL image (:func:`pil_to_rgb`), the array itself otherwise (checked by
    :func:`array_to_rgb` when it is converted).

    A path is opened by :func:`open_image`, so a file above ``max_pixels``
    is refused from its header. Raises FileNotFoundError for a missing path,
    ValueError for a file that is not a readable image (or too large),
    TypeError for anything else.
    """
    if isinstance(image, (str, Path)):
        path = Path(image)
        if not path.is_file():
            raise FileNotFoundError(f"no such image file: {path}")
        try:
            with open_image(path, max_pixels) as img:
                img.load()
                rgb = pil_to_rgb(img)
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as err:  # while decoding
            raise ValueError(f"cannot decode image {path}: {err}") from err
        return np.asarray(rgb)
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


def load_image(image: ImageInput, max_pixels: int | None = None) -> torch.Tensor:
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
