"""The hint curve: nested random hints from the truth, scored on the tiny model."""

import pytest
import torch

from colorize.checkpoint import save_model
from colorize.hints import user_hint_map
from colorize.models.pixcolor import PixColor
from pipelines import evaluate_hints


@pytest.fixture(scope="module")
def hint_checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = PixColor.from_preset("tiny")
    model.add_hint_inputs()
    return save_model(tmp_path_factory.mktemp("hint_model"), model), model


def test_the_curve_has_every_count_and_its_fields(hint_checkpoint, module_corpus, tmp_path):
    path, _ = hint_checkpoint
    results = evaluate_hints.main(["--checkpoint", str(path), "--data", str(module_corpus), "--counts", "0", "1",
                                   "5", "--draws", "2", "--device", "cpu", "--out", str(tmp_path / "h.json")])
    rows = results["counts"]
    assert set(rows) == {0, 1, 5}
    assert rows[0]["delta_e_median"] is None and rows[5]["delta_e_median"] > 0
    assert rows[0]["diversity"] > 0
    assert (tmp_path / "h.json").is_file()


def test_suggested_points_are_the_uncertainty_maps_and_nested(hint_checkpoint, module_corpus, tmp_path):
    path, model = hint_checkpoint
    results = evaluate_hints.main(["--checkpoint", str(path), "--data", str(module_corpus), "--counts", "0", "1",
                                   "3", "--points", "suggested", "--device", "cpu", "--out", str(tmp_path / "s.json")])
    rows = results["counts"]
    assert results["points"] == "suggested" and results["draws"] == 1
    assert rows[1]["hints_given"] == 1 and 1 <= rows[3]["hints_given"] <= 3
    # The points are the peaks of the spread of the model's own samples, most uncertain first.
    lightness = torch.full((1, 1, 16, 16), 50.0)
    first = evaluate_hints.suggested_points(model.eval(), lightness, 3, torch.Generator().manual_seed(0))
    again = evaluate_hints.suggested_points(model.eval(), lightness, 1, torch.Generator().manual_seed(0))
    assert again == first[:1]
    with pytest.raises(ValueError, match="points must be"):
        evaluate_hints.evaluate_hints(model, [], points="everywhere")


def test_delta_e_is_zero_where_the_output_shows_the_hint():
    hints = [(3, 4, (200, 40, 40))]
    hint_map = user_hint_map(hints, 8, 8, 8)[0]
    lightness = torch.full((1, 8, 8), 50.0)
    lab = torch.cat([lightness, hint_map[:2] * 110.0])
    assert evaluate_hints.delta_e_at_hints(lab, lightness, hint_map, hints) == [pytest.approx(0, abs=1e-4)]
    lab[1] += 5.0
    assert evaluate_hints.delta_e_at_hints(lab, lightness, hint_map, hints) == [pytest.approx(5, abs=1e-4)]


def test_a_model_without_hints_is_refused(checkpoint, module_corpus):
    with pytest.raises(SystemExit, match="trained with hints"):
        evaluate_hints.main(["--checkpoint", str(checkpoint), "--data", str(module_corpus)])


def test_the_hint_figure_has_two_rows_per_photo(hint_checkpoint, module_corpus, tmp_path):
    from PIL import Image

    from pipelines import hint_figure

    path, model = hint_checkpoint
    out = hint_figure.main(["--checkpoint", str(path), "--data", str(module_corpus), "--split", "val",
                            "--images", "2", "--hints", "3", "--samples", "2", "--device", "cpu",
                            "--out", str(tmp_path / "hints.png")])
    size = model.config.working_size
    with Image.open(out) as image:  # 4 rows of [gray, 2 samples, truth], cells of the working size
        assert image.height >= 4 * size and image.width >= 4 * size


def test_the_hint_figure_places_one_hint_where_suggested(hint_checkpoint, module_corpus, tmp_path):
    from pipelines import hint_figure

    path, model = hint_checkpoint
    crop = hint_figure.evaluation_crops(hint_figure.split_images(module_corpus, "val"), model.config.working_size)[0]
    rows = hint_figure.hint_rows(model.eval(), crop, 1, 2, 0, points="suggested")
    lightness = crop["l"][None]
    (x, y), = evaluate_hints.suggested_points(model, lightness, 1, torch.Generator().manual_seed(2))
    # The second row's first cell is the gray with the hint drawn at the suggested point, and only there.
    drawn, gray = rows[1][0], rows[0][0]
    changed = (drawn - gray).abs().sum(0) > 0.1  # the dot, not the 8-bit rounding of the drawing
    rows_changed, cols_changed = changed.nonzero(as_tuple=True)
    assert abs(rows_changed.float().mean() - y) <= 2 and abs(cols_changed.float().mean() - x) <= 2
