"""Colour hints: the simulated and user hint maps, the zero-initialised hint inputs, the API and CLI."""

import copy
import json

import numpy as np
import pytest
import torch
from PIL import Image

from colorize.checkpoint import load_model, save_model
from colorize.cli import main as cli_main
from colorize.color import AB_SCALE, rgb_to_lab
from colorize.colorizer import Colorizer
from colorize.hints import (
    USER_PATCH_SIDE,
    cell_hints,
    check_hints,
    hinted_bins,
    hint_ab,
    read_hints_file,
    simulate_hints,
    user_hint_map,
)
from colorize.models.pixcolor import PixColor


@pytest.fixture(scope="module")
def plain_model():
    torch.manual_seed(0)
    return PixColor.from_preset("tiny").eval()


@pytest.fixture(scope="module")
def hint_model(plain_model):
    """The same weights with hint inputs added, before any training."""
    model = copy.deepcopy(plain_model)
    model.add_hint_inputs()
    return model.eval()


@pytest.fixture(scope="module")
def trained_hint_model(hint_model):
    """Hint inputs with random (as if trained) weights, so that hints change the output."""
    model = copy.deepcopy(hint_model)
    torch.manual_seed(1)
    with torch.no_grad():
        model.conditioning.adapter.project_hints.weight.normal_(0, 3.0)
        model.refinement.stem_hints.weight.normal_(0, 1.0)
        model.refinement.out.weight.normal_(0, 0.1)  # else the refinement is the plain upsampling
    return model.eval()


@pytest.fixture(scope="module")
def inputs():
    torch.manual_seed(2)
    lightness = torch.rand(2, 1, 224, 224) * 100
    ab = torch.randn(2, 2, 224, 224) * 20
    return lightness, ab, simulate_hints(ab, torch.Generator().manual_seed(3))


def test_simulated_hints_are_patch_means_of_the_truth():
    ab = torch.randn(64, 2, 32, 32) * 30
    hints = simulate_hints(ab, torch.Generator().manual_seed(0))
    mask = hints[:, 2]
    assert set(mask.unique().tolist()) <= {0.0, 1.0}
    assert torch.all(hints[:, :2] * (1 - mask[:, None]) == 0), "ab is zero away from the hints"
    # A quarter of the crops, in expectation, get none; the rest some.
    none = int((mask.sum((1, 2)) == 0).sum())
    assert 4 <= none <= 32
    # An isolated 1×1 hint holds that very pixel's ab.
    found = 0
    for index, row, col in (mask == 1).nonzero().tolist():
        window = mask[index, max(row - 1, 0):row + 2, max(col - 1, 0):col + 2]
        if window.sum() == 1:
            torch.testing.assert_close(hints[index, :2, row, col] * AB_SCALE, ab[index, :, row, col])
            found += 1
    assert found > 0


def test_simulated_hints_depend_only_on_the_generator():
    ab = torch.randn(4, 2, 32, 32)
    first = simulate_hints(ab, torch.Generator().manual_seed(5))
    assert torch.equal(first, simulate_hints(ab, torch.Generator().manual_seed(5)))
    assert not torch.equal(first, simulate_hints(ab, torch.Generator().manual_seed(6)))


def test_cell_hints_keep_a_one_pixel_hint_undiluted():
    hints = torch.zeros(1, 3, 224, 224)
    hints[0, :, 17, 100] = torch.tensor([0.5, -0.25, 1.0])
    cells = cell_hints(hints, 28)
    assert cells.shape == (1, 3, 28, 28)
    assert cells[0, 2].sum() == 1 and cells[0, 2, 2, 12] == 1
    torch.testing.assert_close(cells[0, :2, 2, 12], torch.tensor([0.5, -0.25]))


def test_without_training_the_hint_inputs_change_nothing(plain_model, hint_model, inputs):
    """Before fine-tuning, the model with hint inputs is exactly today's model, with or without hints."""
    lightness, _, hints = inputs
    assert hints[:, 2].sum() > 0
    expected = plain_model.conditioning(lightness)
    assert torch.equal(hint_model.conditioning(lightness), expected)
    assert torch.equal(hint_model.conditioning(lightness, hints), expected)
    bins = torch.randint(0, 32, (2, 2, 28, 28))
    assert torch.equal(hint_model.refine(lightness, bins, hints), plain_model.refine(lightness, bins))
    drawn = plain_model.sample_lowres(lightness, 2, generator=torch.Generator().manual_seed(4))
    no_hints = hint_model.sample_lowres(lightness, 2, generator=torch.Generator().manual_seed(4),
                                        hints=torch.zeros_like(hints))
    assert torch.equal(no_hints, drawn)
    assert torch.equal(hint_model.decoder_loss(lightness, bins, hints=hints), plain_model.decoder_loss(lightness, bins))


def test_the_hinted_cells_take_the_hints_bins(hint_model, inputs):
    """The sampler takes each hinted cell's bins as observed; the values before the first
    hinted cell (raster order) are the very draws without hints."""
    lightness, _, hints = inputs
    fixed = hinted_bins(hints, 28).repeat_interleave(2, dim=0)
    assert (fixed >= 0).any() and (fixed < 0).any()
    with_hints = hint_model.sample_lowres(lightness, 2, generator=torch.Generator().manual_seed(4), hints=hints)
    assert torch.equal(with_hints[fixed >= 0], fixed[fixed >= 0])
    drawn = hint_model.sample_lowres(lightness, 2, generator=torch.Generator().manual_seed(4))
    order = lambda x: x.permute(0, 2, 3, 1).reshape(4, -1)  # raster and channel order
    firsts = (order(fixed) >= 0).float().argmax(dim=1).tolist()  # each sample's first hinted value
    assert max(firsts) > 0
    for n, first in enumerate(firsts):
        assert torch.equal(order(with_hints)[n, :first], order(drawn)[n, :first])


def test_an_empty_hint_map_is_exactly_no_hints(trained_hint_model, inputs):
    """The hint inputs have no bias: a map without hints adds exactly nothing, trained or not."""
    lightness, _, hints = inputs
    empty = torch.zeros_like(hints)
    model = trained_hint_model
    assert torch.equal(model.conditioning(lightness, empty), model.conditioning(lightness))
    assert not torch.equal(model.conditioning(lightness, hints), model.conditioning(lightness))
    bins = torch.randint(0, 32, (2, 2, 28, 28))
    assert torch.equal(model.refine(lightness, bins, empty), model.refine(lightness, bins))
    assert not torch.equal(model.refine(lightness, bins, hints), model.refine(lightness, bins))


def test_hints_reach_the_hint_parameters_gradient(hint_model, inputs):
    """Zero-initialised, the hint projections still get a gradient, so fine-tuning can grow them."""
    lightness, ab, hints = inputs
    model = copy.deepcopy(hint_model).train()
    with torch.no_grad():  # as if trained: a new model's decoder ignores the map, its refinement is the identity
        for layer in model.decoder.layers:
            layer.cond_proj.map.weight.normal_(0, 0.1)
        model.refinement.out.weight.normal_(0, 0.1)
    bins = torch.randint(0, 32, (2, 2, 28, 28))
    model.decoder_loss(lightness, bins, hints=hints).backward()
    model.refinement_loss(lightness, bins, ab, hints).backward()
    assert model.conditioning.adapter.project_hints.weight.grad.abs().sum() > 0
    assert model.refinement.stem_hints.weight.grad.abs().sum() > 0


def test_a_hint_model_round_trips_through_a_checkpoint(trained_hint_model, inputs, tmp_path):
    save_model(tmp_path, trained_hint_model)
    loaded, config = load_model(tmp_path)
    assert config["config"]["hints"] is True
    lightness, _, hints = inputs
    assert torch.equal(loaded.conditioning(lightness, hints), trained_hint_model.conditioning(lightness, hints))


def test_a_model_without_hint_inputs_refuses_hints(plain_model, inputs):
    lightness, _, hints = inputs
    with pytest.raises(ValueError, match="without|not trained with colour hints"):
        plain_model.conditioning(lightness, hints)
    with pytest.raises(ValueError, match="already"):
        PixColor.from_preset("tiny", hints=True).add_hint_inputs()


def test_user_hints_map_to_the_working_pixels_with_their_ab():
    hint_map = user_hint_map([(10, 40, "#ff0000")], width=100, height=50, size=224)
    mask = hint_map[0, 2]
    assert mask.sum() == USER_PATCH_SIDE ** 2
    rows, cols = mask.nonzero().T
    assert rows.float().mean() == int(40 * 224 / 50) and cols.float().mean() == int(10 * 224 / 100)
    red = rgb_to_lab(torch.tensor([1.0, 0, 0]).view(1, 3, 1, 1))[0, 1:, 0, 0]
    torch.testing.assert_close(hint_map[0, :2, rows[0], cols[0]] * AB_SCALE, red)
    assert user_hint_map([], 100, 50, 224) is None and user_hint_map(None, 100, 50, 224) is None


@pytest.mark.parametrize("hints, match", [
    ([(100, 0, "#ffffff")], "outside the 100×50 photo"),
    ([(-1, 0, "#ffffff")], "outside"),
    ([(0, 50, "#ffffff")], "outside"),
    ([(0, 0, "#fffff")], "#rrggbb"),
    ([(0, 0, "red")], "#rrggbb"),
    ([(0, 0, (256, 0, 0))], "0–255"),
    ([(0, 0, (1.5, 0, 0))], "0–255"),
    ([(0, 0, (1, 2))], "0–255"),
    ([(float("nan"), 0, "#000000")], "x must be a number"),
    ([("3", 0, "#000000")], "x must be a number"),
    ([(0, 0)], r"hint 0 must be \(x, y, colour\)"),
    ("0,0,#fff", "must be a list"),
])
def test_bad_user_hints_are_clear_errors(hints, match):
    with pytest.raises(ValueError, match=match):
        check_hints(hints, width=100, height=50)


def test_hint_colours_parse_both_ways():
    torch.testing.assert_close(hint_ab("#336699"), hint_ab((0x33, 0x66, 0x99)))
    torch.testing.assert_close(hint_ab("#808080"), torch.zeros(2), atol=0.01, rtol=0)  # gray has no chroma


@pytest.fixture(scope="module")
def hint_colorizer(trained_hint_model):
    return Colorizer(copy.deepcopy(trained_hint_model), torch.device("cpu"))


@pytest.fixture(scope="module")
def photo():
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (60, 90), dtype=np.uint8), mode="L")


def test_colorize_takes_hints_and_they_change_the_samples(hint_colorizer, photo):
    plain = hint_colorizer.colorize(photo, num_samples=2, seed=0)
    for with_none, without in zip(hint_colorizer.colorize(photo, num_samples=2, seed=0, hints=[]), plain):
        assert np.array_equal(np.asarray(with_none), np.asarray(without))
    hinted = hint_colorizer.colorize(photo, num_samples=2, seed=0, hints=[(45, 30, "#00ff00"), (5, 5, (255, 0, 0))])
    assert len(hinted) == 2 and hinted[0].size == photo.size
    assert not np.array_equal(np.asarray(hinted[0]), np.asarray(plain[0]))
    scored = hint_colorizer.colorize_scored(photo, num_samples=2, seed=0, hints=[(45, 30, "#00ff00"),
                                                                                  (5, 5, (255, 0, 0))])
    assert np.array_equal(np.asarray(scored[0].image), np.asarray(hinted[0]))


def test_colorize_refuses_bad_hints_and_models_without_hint_inputs(hint_colorizer, plain_model, photo):
    with pytest.raises(ValueError, match="outside the 90×60 photo"):
        hint_colorizer.colorize(photo, hints=[(90, 0, "#ffffff")])
    with pytest.raises(ValueError, match="trained without colour hints"):
        Colorizer(plain_model, torch.device("cpu")).colorize(photo, hints=[(1, 1, "#ffffff")])


def test_read_hints_file(tmp_path):
    path = tmp_path / "hints.json"
    path.write_text(json.dumps({"a/p.png": [[1, 2, "#010203"]], "q.jpg": [[3.5, 4, [9, 8, 7]]]}))
    assert read_hints_file(path) == {"a/p.png": [(1, 2, "#010203")], "q.jpg": [(3.5, 4, (9, 8, 7))]}
    for text, match in [("{", "not valid JSON"), ("[]", "must hold an object"),
                        ('{"p.png": [[1, 2]]}', "p.png.*hint 0"), ('{"p.png": [[1, 2, "blue"]]}', "#rrggbb"),
                        ('{"p.png": 3}', "expected a list")]:
        path.write_text(text)
        with pytest.raises(ValueError, match=match):
            read_hints_file(path)
    with pytest.raises(ValueError, match="cannot read"):
        read_hints_file(tmp_path / "missing.json")


def test_batch_applies_each_photos_hints(trained_hint_model, tmp_path, capsys):
    checkpoint = save_model(tmp_path / "model", trained_hint_model)
    photos = tmp_path / "in"
    (photos / "sub").mkdir(parents=True)
    rng = np.random.default_rng(1)
    for name in ("sub/a.png", "b.png", "c.png"):
        Image.fromarray(rng.integers(0, 256, (40, 50), dtype=np.uint8), mode="L").save(photos / name)
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps({"sub/a.png": [[10, 10, "#ff0000"]], "b.png": [[60, 10, "#00ff00"]],
                                 "nothere.png": [[1, 1, "#0000ff"]]}))
    args = ["batch", str(photos), str(tmp_path / "out"), "--samples", "1", "--seed", "0",
            "--checkpoint", str(checkpoint)]
    assert cli_main(args + ["--hints", str(hints)]) == 1  # b.png's point lies outside it
    err = capsys.readouterr().err
    assert "'nothere.png', which is no photo" in err
    assert "b.png: its hints: hint 0: (60, 10) is outside the 50×40 photo" in err
    record = json.loads((tmp_path / "out" / "sub" / "a.json").read_text())
    assert record["hints"] == [[10, 10, "#ff0000"]]
    assert "hints" not in json.loads((tmp_path / "out" / "c.json").read_text())
    hinted = np.asarray(Image.open(tmp_path / "out" / "sub" / "a_0.png"))
    assert cli_main(args[:2] + [str(tmp_path / "plain")] + args[3:]) == 0
    plain = np.asarray(Image.open(tmp_path / "plain" / "sub" / "a_0.png"))
    assert not np.array_equal(hinted, plain)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out" / "c_0.png")),
                          np.asarray(Image.open(tmp_path / "plain" / "c_0.png")))


def test_batch_hints_need_a_model_with_hint_inputs(checkpoint, tmp_path, capsys):
    (tmp_path / "in").mkdir()
    hints = tmp_path / "hints.json"
    hints.write_text('{"a.png": [[1, 1, "#ff0000"]]}')
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["batch", str(tmp_path / "in"), str(tmp_path / "out"), "--checkpoint", str(checkpoint),
                  "--hints", str(hints)])
    assert exit_info.value.code == 2
    assert "trained without colour hints" in capsys.readouterr().err
    hints.write_text("[1]")
    with pytest.raises(SystemExit):
        cli_main(["batch", str(tmp_path / "in"), str(tmp_path / "out"), "--hints", str(hints)])
    assert "must hold an object" in capsys.readouterr().err
