"""Every accepted input form becomes the same sRGB tensor; everything else is a clear error."""

import numpy as np
import pytest
import torch
from PIL import Image

from colorize.image_io import load_image, tensor_to_pil


@pytest.fixture
def rgb8():
    return np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)


def test_path_pil_and_arrays_agree(rgb8, tmp_path):
    path = tmp_path / "x.png"
    Image.fromarray(rgb8).save(path)
    expected = torch.from_numpy(rgb8).permute(2, 0, 1).float() / 255
    for image in [path, str(path), Image.fromarray(rgb8), rgb8, rgb8.astype(np.float32) / 255]:
        out = load_image(image)
        assert out.shape == (3, 5, 7) and out.dtype == torch.float32
        assert torch.allclose(out, expected, atol=1e-6)


def test_gray_forms_are_replicated(rgb8):
    gray = rgb8[..., 0]
    expected = torch.from_numpy(gray).float().div(255).expand(3, -1, -1)
    for image in [gray, gray[..., None], Image.fromarray(gray, mode="L"),
                  (gray.astype(np.uint16) * 257), Image.fromarray(gray).convert("I")]:
        assert torch.allclose(load_image(image), expected, atol=1e-6)


def test_transparency_is_composited_on_white():
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    rgba[0, 0] = (255, 0, 0, 255)  # opaque red stays red
    rgba[1, 1] = (0, 0, 255, 0)  # transparent blue becomes white
    for image in [rgba, Image.fromarray(rgba, mode="RGBA")]:
        out = load_image(image)
        assert torch.equal(out[:, 0, 0], torch.tensor([1.0, 0.0, 0.0]))
        assert torch.equal(out[:, 1, 1], torch.ones(3))


def test_exif_orientation_is_applied(tmp_path):
    wide = np.zeros((4, 6, 3), dtype=np.uint8)
    image = Image.fromarray(wide)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° on display
    path = tmp_path / "rotated.jpg"
    image.save(path, exif=exif)
    assert load_image(path).shape == (3, 6, 4)


@pytest.mark.parametrize(
    "array,match",
    [
        (np.zeros((4, 5, 2), dtype=np.uint8), r"\(H, W\)"),
        (np.zeros((0, 5), dtype=np.uint8), "empty"),
        (np.ones((4, 5), dtype=bool), "mask"),
        (np.full((4, 5), 2.0), r"\[0, 1\]"),
        (np.full((4, 5), np.nan), "NaN"),
        (np.full((4, 5), -3, dtype=np.int32), r"\[0, 255\]"),
    ],
)
def test_bad_arrays_are_clear_errors(array, match):
    with pytest.raises(ValueError, match=match):
        load_image(array)


def test_bad_files_and_types(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_image(tmp_path / "nope.png")
    (tmp_path / "text.png").write_text("hello")
    with pytest.raises(ValueError, match="not an image file"):
        load_image(tmp_path / "text.png")
    with pytest.raises(TypeError):
        load_image(torch.zeros(3, 4, 4))


def test_tensor_to_pil_rounds_and_clamps():
    rgb = torch.tensor([[[0.5, 1.2]], [[-0.1, 0.0]], [[1.0, 0.2]]])
    assert np.asarray(tensor_to_pil(rgb)).tolist() == [[[128, 0, 255], [255, 0, 51]]]


def test_open_image_refuses_a_huge_image_from_its_header_before_decoding(tmp_path, monkeypatch):
    from colorize.image_io import ImageTooLarge, UnreadableImage, open_image

    huge = tmp_path / "huge.png"
    Image.new("L", (3000, 2000)).save(huge)  # a few KB of zeros that claim 6 megapixels
    decoded = []
    original_load = Image.Image.load
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded.append(self) or original_load(self))
    with pytest.raises(ImageTooLarge, match=r"huge\.png: 3000×2000 pixels \(6 megapixels\); the limit is 5 megapixels"):
        with open_image(huge, max_pixels=5_000_000):
            pass
    assert decoded == []
    with pytest.raises(ValueError, match="the limit is 5 megapixels"):
        load_image(huge, max_pixels=5_000_000)
    assert decoded == []
    with open_image(huge, max_pixels=6_000_000) as img:
        assert img.size == (3000, 2000)
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(UnreadableImage, match="notes.png: not an image file"):
        with open_image(tmp_path / "notes.png"):
            pass
