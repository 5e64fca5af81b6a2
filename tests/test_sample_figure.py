"""pipelines.sample_figure: evenly spaced or per-source photos, one or two checkpoints per row."""

import pytest
import torch
from PIL import Image

from colorize.checkpoint import save_model
from colorize.models.pixcolor import PixColor
from pipelines.sample_figure import first_of_each_prefix, main

from conftest import write_images

WORK = 28  # the tiny preset's working size is set here so the figure stays small


@pytest.fixture(scope="module")
def two_checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("figure")
    paths = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        paths.append(root / f"model_{seed}")
        save_model(paths[-1], PixColor.from_preset("tiny", working_size=WORK))
    write_images(root / "photos", 4, seed=3)
    for n, path in enumerate(sorted((root / "photos").glob("*.png"))):
        path.rename(path.with_name(f"{'sky' if n % 2 else 'face'}-{n}.png"))
    return root, paths


def test_first_of_each_prefix_picks_in_order_and_names_what_is_missing(tmp_path):
    paths = [tmp_path / name for name in ("a-1.png", "b-1.png", "a-2.png")]
    assert first_of_each_prefix(paths, ["b", "a"]) == [1, 0]
    with pytest.raises(ValueError, match="'c'"):
        first_of_each_prefix(paths, ["c"])


def test_a_before_after_figure_shows_both_models_samples(two_checkpoints, tmp_path):
    root, checkpoints = two_checkpoints
    out = main(["--checkpoint", str(checkpoints[0]), "--checkpoint", str(checkpoints[1]),
                "--data", str(root / "photos"), "--split", "train", "--prefix", "sky", "--prefix", "face",
                "--samples", "2", "--device", "cpu", "--out", str(tmp_path / "figure.png")])
    # 2 rows (one per prefix): gray | 2 + 2 samples | ground truth, 2-px gaps.
    assert Image.open(out).size == (6 * WORK + 5 * 2, 2 * WORK + 2)


def test_a_missing_prefix_is_a_usage_error(two_checkpoints, tmp_path):
    root, checkpoints = two_checkpoints
    with pytest.raises(SystemExit):
        main(["--checkpoint", str(checkpoints[0]), "--data", str(root / "photos"), "--split", "train",
              "--prefix", "street", "--device", "cpu", "--out", str(tmp_path / "figure.png")])


def test_each_data_folder_can_have_its_own_split(two_checkpoints, tmp_path):
    root, checkpoints = two_checkpoints
    base = ["--checkpoint", str(checkpoints[0]), "--data", str(root / "photos"), "--data", str(root / "photos"),
            "--images", "1", "--images", "2", "--samples", "1", "--device", "cpu"]
    out = main([*base, "--split", "train", "--split", "train", "--out", str(tmp_path / "a.png")])
    assert Image.open(out).size == (3 * WORK + 2 * 2, 3 * WORK + 2 * 2)  # 1 + 2 rows
    with pytest.raises(SystemExit):
        main([*base, "--split", "train", "--split", "train", "--split", "val", "--out", str(tmp_path / "b.png")])
