"""The uncertainty map: the spread of a photo's samples, the suggested hint points, the batch's map file."""

import io
import json

import numpy as np
import pytest
import torch
from PIL import Image

from colorize import Colorizer
from colorize.batch import BatchOptions, colorize_folder
from colorize.checkpoint import save_model
from colorize.color import rgb_to_lab
from colorize.models.pixcolor import PixColor
from colorize.uncertainty import (SURE_SPREAD, SpreadAccumulator, colour_spread, spread_backdrop, spread_overlay,
                                  suggest_hints)


def painted(width: int, height: int, patches: list[tuple[slice, slice, tuple[int, int, int]]]) -> Image.Image:
    rgb = np.full((height, width, 3), (120, 110, 100), dtype=np.uint8)
    for rows, cols, colour in patches:
        rgb[rows, cols] = colour
    return Image.fromarray(rgb)


def test_the_spread_is_the_rms_distance_of_the_samples_chroma_from_their_mean():
    a = painted(20, 10, [(slice(0, 10), slice(10, 20), (200, 40, 40))])
    b = painted(20, 10, [(slice(0, 10), slice(10, 20), (40, 90, 200))])
    spread = colour_spread([a, b, a])
    ab = torch.stack([rgb_to_lab(torch.from_numpy(np.asarray(x, np.float32) / 255).permute(2, 0, 1))[1:]
                      for x in (a, b, a)])
    expected = (ab - ab.mean(0)).square().sum(1).mean(0).sqrt().numpy()
    np.testing.assert_allclose(spread, expected, atol=1e-3)
    assert spread[:, :10].max() < 1e-3 and spread[:, 10:].min() > 20  # agree on the left, not on the right


def test_the_spread_is_computed_small_and_one_sample_at_a_time():
    big = [painted(1000, 500, []), painted(1000, 500, [(slice(0, 250), slice(0, 500), (20, 200, 20))])]
    accumulator = SpreadAccumulator(side=100)
    for image in big:
        accumulator.add(image)
    assert accumulator.spread().shape == (50, 100) and accumulator.spread_size() == (100, 50)
    with pytest.raises(ValueError, match="share one size"):
        accumulator.add(painted(10, 10, []))
    with pytest.raises(ValueError, match="at least 2 samples"):
        colour_spread(big[:1])


def test_suggestions_go_to_the_centres_of_the_disagreeing_regions_most_uncertain_first():
    base = painted(300, 200, [])
    other = painted(300, 200, [(slice(20, 80), slice(200, 280), (20, 90, 200)),  # strong disagreement
                               (slice(120, 190), slice(20, 100), (150, 100, 90))])  # a weaker one
    spread = colour_spread([base, other])
    (x1, y1), (x2, y2), *_ = suggest_hints(spread, 300, 200, count=3)
    assert abs(x1 - 240) <= 8 and abs(y1 - 50) <= 8
    assert abs(x2 - 60) <= 8 and abs(y2 - 155) <= 8
    # Nowhere to suggest where every sample agrees.
    assert suggest_hints(colour_spread([base, base]), 300, 200) == []
    with pytest.raises(ValueError, match="count"):
        suggest_hints(spread, 300, 200, count=0)


def test_the_overlay_tints_only_where_the_samples_disagree():
    base = painted(60, 40, [])
    other = painted(60, 40, [(slice(0, 40), slice(30, 60), (20, 200, 20))])
    spread = colour_spread([base, other])
    overlay = np.asarray(spread_overlay(spread_backdrop(base, spread.shape[::-1]), spread)).astype(int)
    left, right = overlay[:, :25], overlay[:, 35:]
    assert (left[..., 0] == left[..., 1]).all()  # gray: the samples agree there
    assert (right[..., 0] - right[..., 1]).mean() > 100  # pink: they do not
    assert spread[:, :25].max() < SURE_SPREAD


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny")
    save_model(folder, PixColor.from_preset("tiny"))
    return folder


def test_batch_writes_the_map_and_the_suggested_points(tiny_checkpoint, tmp_path):
    photos = tmp_path / "in"
    photos.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (30, 40), dtype=np.uint8)).save(photos / "photo.png")
    colorizer = Colorizer.from_pretrained(tiny_checkpoint, device="cpu")
    out = tmp_path / "out"
    result = colorize_folder(colorizer, photos, out, BatchOptions(num_samples=3, seed=1, uncertainty=True),
                             log=io.StringIO())
    assert result.done == 1
    record = json.loads((out / "photo.json").read_text())
    assert record["uncertainty"]["file"] == "photo_unsure.png"
    samples = [Image.open(out / f"photo_{n}.png") for n in range(3)]
    expected = suggest_hints(colour_spread(samples), 40, 30)
    assert record["uncertainty"]["suggested_hints"] == [list(point) for point in expected]
    assert Image.open(out / "photo_unsure.png").size == (40, 30)
    # Without the option, no map.
    colorize_folder(colorizer, photos, tmp_path / "plain", BatchOptions(num_samples=3, seed=1), log=io.StringIO())
    assert not (tmp_path / "plain" / "photo_unsure.png").exists()
    assert "uncertainty" not in json.loads((tmp_path / "plain" / "photo.json").read_text())


def test_the_cli_option_writes_the_map_and_needs_two_samples(tiny_checkpoint, tmp_path, capsys):
    from colorize import cli

    photos = tmp_path / "in"
    photos.mkdir()
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (20, 24, 3), dtype=np.uint8)).save(photos / "a.png")
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["batch", str(photos), str(tmp_path / "one"), "--samples", "1", "--uncertainty-map",
                  "--checkpoint", str(tiny_checkpoint), "--device", "cpu"])
    assert exit_info.value.code == 2 and "needs --samples 2 or more" in capsys.readouterr().err
    assert cli.main(["batch", str(photos), str(tmp_path / "out"), "--samples", "2", "--seed", "0",
                     "--uncertainty-map", "--checkpoint", str(tiny_checkpoint), "--device", "cpu"]) == 0
    assert (tmp_path / "out" / "a_unsure.png").is_file()
