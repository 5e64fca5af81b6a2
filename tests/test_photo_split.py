"""A plain photo folder splits into train and val by content hash; a corpus keeps its subfolders."""

import shutil

import pytest

from pipelines.corpus import VAL_PERCENT, content_percentile, split_images

from conftest import write_images

COUNT = 120  # enough photos that a few of them land in the validation range


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    write_images(folder, COUNT, seed=5)
    return folder


def test_train_and_val_partition_the_folder_by_content_hash(photos):
    train, val = split_images(photos, "train"), split_images(photos, "val")
    every = sorted(photos.glob("*.png"))
    assert sorted(train + val) == every
    assert not set(train) & set(val)
    assert 0 < len(val) < COUNT * 4 * VAL_PERCENT / 100  # about 3 %, not most of them
    assert all(content_percentile(p) < VAL_PERCENT for p in val)
    assert all(content_percentile(p) >= VAL_PERCENT for p in train)
    assert split_images(photos, "test") is None


def test_the_split_follows_the_bytes_not_the_names_or_the_other_files(photos, tmp_path):
    val = split_images(photos, "val")
    copy = tmp_path / "renamed"
    copy.mkdir()
    # Renamed, in another order, with a subfolder and new photos beside them.
    for n, path in enumerate(sorted(photos.glob("*.png"), reverse=True)):
        (copy / ("sub" if n % 2 else ".")).mkdir(exist_ok=True)
        shutil.copy(path, copy / ("sub" if n % 2 else ".") / f"z{n}_{path.name}")
    write_images(copy / "more", 30, seed=6)
    moved = {p.name.split("_", 1)[1] for p in split_images(copy, "val") if p.parent.name != "more"}
    assert moved == {p.name for p in val}


def test_a_corpus_keeps_its_split_folders(corpus):
    assert split_images(corpus, "val") == sorted((corpus / "val").glob("*.png"))
    assert split_images(corpus, "test") == sorted((corpus / "test").glob("*.png"))
    shutil.rmtree(corpus / "test")
    assert split_images(corpus, "test") is None  # a corpus without a test split has none


def test_unknown_split_and_missing_folder_are_clear_errors(photos, tmp_path):
    with pytest.raises(ValueError, match="unknown split"):
        split_images(photos, "validation")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        split_images(tmp_path / "missing", "train")
