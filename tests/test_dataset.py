"""ImageCrops on a tiny generated folder: shapes, ranges, randomness, errors."""

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from colorize.color import quantize_ab
from colorize.dataset import ColorizerCrops, ImageCrops, list_images, load_rgb

SIZE = 8


def _noise(h: int, w: int, channels: int, seed: int) -> np.ndarray:
    shape = (h, w, channels) if channels > 1 else (h, w)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


@pytest.fixture
def folder(tmp_path):
    """Images of different sizes, formats and modes, plus a non-image file."""
    Image.fromarray(_noise(30, 40, 3, 0)).save(tmp_path / "a.png")
    (tmp_path / "sub").mkdir()
    Image.fromarray(_noise(48, 64, 3, 1)).save(tmp_path / "sub" / "b.JPG", quality=90)
    rgba = _noise(32, 32, 4, 2)
    rgba[..., 3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "c.png")
    Image.fromarray(_noise(20, 50, 1, 3), "L").save(tmp_path / "d.png")
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


@pytest.fixture
def gray_folder(tmp_path):
    Image.new("L", (24, 16), 128).save(tmp_path / "gray.png")
    return tmp_path


def test_list_images_recursive_sorted_case_insensitive(folder):
    names = [p.relative_to(folder).as_posix() for p in list_images(folder)]
    assert names == ["a.png", "c.png", "d.png", "sub/b.JPG"]


def test_list_images_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        list_images(tmp_path / "missing")
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(ValueError, match="no images found in"):
        list_images(tmp_path)


def test_load_rgb_modes_and_cache_downscale(tmp_path):
    rgba = _noise(10, 12, 4, 4)
    rgba[..., 3] = 0
    Image.fromarray(rgba, "RGBA").save(tmp_path / "clear.png")
    img = load_rgb(tmp_path / "clear.png")
    # Fully transparent pixels are composited on white.
    assert img.mode == "RGB" and (np.asarray(img) == 255).all()
    Image.fromarray(_noise(40, 100, 3, 5)).save(tmp_path / "big.jpg")
    assert load_rgb(tmp_path / "big.jpg", max_short_side=10).size == (25, 10)


def test_load_rgb_applies_exif_orientation(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    stored = _noise(20, 30, 3, 6)  # (H, W, 3): 20 rows of 30, every pixel different
    Image.fromarray(stored).save(tmp_path / "rot.png", exif=exif)  # PNG: lossless, so pixels compare exactly
    shown = np.asarray(load_rgb(tmp_path / "rot.png"))
    assert shown.shape == (30, 20, 3)
    assert np.array_equal(shown, np.rot90(stored, k=-1))  # turned clockwise, not mirrored or anticlockwise


def test_rgb_items(folder):
    ds = ImageCrops(folder, SIZE, channels="rgb", crops_per_image=2)
    assert len(ds) == 8
    for i in range(len(ds)):
        x = ds[i]
        assert x.shape == (3, SIZE, SIZE) and x.dtype == torch.int64
        assert 0 <= x.min() and x.max() < 256
    x = ImageCrops(folder, SIZE, channels="rgb", num_classes=4)[0]
    assert 0 <= x.min() and x.max() < 4


def test_ab_items_and_lightness(folder):
    ds = ImageCrops(folder, SIZE, channels="ab")
    x = ds[0]
    assert x.shape == (2, SIZE, SIZE) and x.dtype == torch.int64
    assert 0 <= x.min() and x.max() < 32
    lightness, ab = ImageCrops(folder, SIZE, channels="ab", return_l=True, num_classes=16)[1]
    assert lightness.shape == (1, SIZE, SIZE) and lightness.dtype == torch.float32
    assert 0 <= lightness.min() and lightness.max() <= 100
    assert ab.shape == (2, SIZE, SIZE) and ab.max() < 16


def test_gray_image_gives_middle_ab_bins(gray_folder):
    lightness, ab = ImageCrops(gray_folder, SIZE, channels="ab", return_l=True)[0]
    # a = b = 0 is the centre of bin 16 of 32 (see colorize.color.AB_MIN).
    assert set(ab.unique().tolist()) == {16}
    assert lightness.std() < 1e-3 and 50 < lightness.mean() < 56  # sRGB 128 -> L ~ 53.6


def test_deterministic_items_repeat(folder):
    ds = ImageCrops(folder, SIZE, deterministic=True, seed=3)
    again = ImageCrops(folder, SIZE, deterministic=True, seed=3)
    for i in range(len(ds)):
        assert torch.equal(ds[i], ds[i]) and torch.equal(ds[i], again[i])
    other = ImageCrops(folder, SIZE, deterministic=True, seed=4)
    assert any(not torch.equal(ds[i], other[i]) for i in range(len(ds)))


def test_random_items_differ(folder):
    torch.manual_seed(0)
    ds = ImageCrops(folder, SIZE)
    draws = [ds[0] for _ in range(5)]
    assert any(not torch.equal(draws[0], d) for d in draws[1:])
    assert not torch.equal(ds[0], ds[1])


def test_dataloader(folder):
    loader = DataLoader(ImageCrops(folder, SIZE, channels="ab"), batch_size=2, num_workers=0)
    batches = list(loader)
    assert len(batches) == 2 and batches[0].shape == (2, 2, SIZE, SIZE)
    loader = DataLoader(ImageCrops(folder, SIZE, channels="ab", return_l=True), batch_size=4)
    lightness, ab = next(iter(loader))
    assert lightness.shape == (4, 1, SIZE, SIZE) and ab.shape == (4, 2, SIZE, SIZE)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"size": 0}, "size"),
        ({"channels": "lab"}, "channels"),
        ({"min_scale": 0.0}, "min_scale"),
        ({"min_scale": 1.5}, "min_scale"),
        ({"num_classes": 1}, "num_classes"),
        ({"num_classes": 300}, "num_classes"),
        ({"crops_per_image": 0}, "crops_per_image"),
        ({"cache_side": 4}, "cache_side"),
        ({"return_l": True}, "return_l"),
    ],
)
def test_bad_arguments(folder, kwargs, match):
    kwargs = {"size": SIZE, **kwargs}
    with pytest.raises(ValueError, match=match):
        ImageCrops(folder, **kwargs)


def test_index_out_of_range(gray_folder):
    ds = ImageCrops(gray_folder, SIZE)
    with pytest.raises(IndexError, match="out of range"):
        ds[len(ds)]


def test_colorizer_crops_pair_full_res_chroma_with_its_low_res_bins(corpus):
    crops = ColorizerCrops(corpus / "train", size=56, lowres=28, deterministic=True)
    item = crops[3]
    assert item["l"].shape == (1, 56, 56) and item["ab"].shape == (2, 56, 56)
    assert item["bins"].shape == (2, 28, 28) and item["bins"].dtype == torch.long
    # Each bin is the quantized mean chroma of its 2×2 cell of the full-res crop.
    cell_mean = item["ab"].reshape(2, 28, 2, 28, 2).mean(dim=(2, 4))
    assert torch.equal(item["bins"], quantize_ab(cell_mean))
    # The same L and ab as the plain ab crop of the same index.
    plain = ImageCrops(corpus / "train", size=56, channels="ab", min_scale=0.5, deterministic=True,
                       cache_side=112, return_l=True)
    lightness, _ = plain[3]
    assert torch.allclose(item["l"], lightness)


def test_colorizer_crops_need_a_low_res_that_divides_the_size(corpus):
    with pytest.raises(ValueError, match="lowres"):
        ColorizerCrops(corpus / "train", size=50, lowres=28)


def test_decoding_on_access_gives_the_items_of_preloading(folder):
    lazy = ColorizerCrops(folder, size=SIZE, lowres=4, deterministic=True, seed=1, crops_per_image=2)
    eager = ColorizerCrops(folder, size=SIZE, lowres=4, deterministic=True, seed=1, crops_per_image=2,
                           preload=True)
    assert lazy.images is None and len(eager.images) == len(eager.paths)
    assert len(lazy) == len(eager)
    for index in range(len(lazy)):
        for key, value in lazy[index].items():
            assert torch.equal(value, eager[index][key]), (index, key)


def test_a_list_of_paths_is_a_dataset_of_just_those_images(folder):
    paths = list_images(folder)[1:3]
    ds = ImageCrops(paths, SIZE, deterministic=True)
    assert ds.paths == paths and len(ds) == 2
    with pytest.raises(ValueError, match="empty"):
        ImageCrops([], SIZE)
