"""The hint refinement: a refinement network of its own for photos with hints, trained on perturbed chroma."""

import copy

import pytest
import torch

from colorize.checkpoint import load_model, save_model
from colorize.hints import has_hints, hinted_bins, perturb_chroma, simulate_hints
from colorize.models.pixcolor import PixColor
from pipelines.train_colorizer import batch_losses


@pytest.fixture(scope="module")
def hint_model():
    torch.manual_seed(0)
    model = PixColor.from_preset("tiny")
    model.add_hint_inputs()
    with torch.no_grad():  # as if trained, so that the hints and the chroma change the output
        model.refinement.stem_hints.weight.normal_(0, 1.0)
        model.refinement.out.weight.normal_(0, 0.1)
    return model.eval()


@pytest.fixture(scope="module")
def with_copy(hint_model):
    """The same model with a hint refinement whose weights then moved, as training moves them."""
    model = copy.deepcopy(hint_model)
    model.add_hint_refinement()
    with torch.no_grad():
        for parameter in model.hint_refinement.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
    return model.eval()


@pytest.fixture(scope="module")
def inputs():
    torch.manual_seed(2)
    lightness = torch.rand(3, 1, 224, 224) * 100
    ab = torch.randn(3, 2, 224, 224) * 20
    hints = simulate_hints(ab, torch.Generator().manual_seed(2))
    hints[1] = 0  # the middle photo has none
    assert has_hints(hints).tolist() == [True, False, True]
    return lightness, ab, hints


def test_a_new_hint_refinement_changes_nothing(hint_model, inputs):
    lightness, _, hints = inputs
    model = copy.deepcopy(hint_model)
    model.add_hint_refinement()
    bins = torch.randint(0, 32, (6, 2, 28, 28))
    assert torch.equal(model.refine(lightness, bins, hints), hint_model.refine(lightness, bins, hints))
    with pytest.raises(ValueError, match="already"):
        model.add_hint_refinement()
    with pytest.raises(ValueError, match="hint inputs first"):
        PixColor.from_preset("tiny").add_hint_refinement()


def test_photos_without_hints_keep_the_shared_refinement(hint_model, with_copy, inputs):
    """A photo without hints is refined exactly as before, alone or beside photos with hints;
    a photo with hints goes through the hint refinement, as it would alone."""
    lightness, _, hints = inputs
    bins = torch.randint(0, 32, (6, 2, 28, 28))  # 2 samples per photo
    mixed = with_copy.refine(lightness, bins, hints)
    assert torch.equal(with_copy.refine(lightness, bins), hint_model.refine(lightness, bins))
    assert torch.equal(mixed[2:4], hint_model.refine(lightness[1:2], bins[2:4]))
    alone = with_copy.refine(lightness[2:], bins[4:], hints[2:])
    torch.testing.assert_close(mixed[4:], alone)
    assert not torch.allclose(alone, hint_model.refine(lightness[2:], bins[4:], hints[2:]))


def test_the_hint_refinement_round_trips_through_a_checkpoint(with_copy, inputs, tmp_path):
    save_model(tmp_path, with_copy)
    loaded, config = load_model(tmp_path)
    assert config["config"]["hint_refinement"] is True
    lightness, _, hints = inputs
    bins = torch.randint(0, 32, (3, 2, 28, 28))
    assert torch.equal(loaded.refine(lightness, bins, hints), with_copy.refine(lightness, bins, hints))


def test_the_refine_stage_trains_only_the_hint_refinement(with_copy):
    assert {id(p) for p in with_copy.stage_parameters("refine")} == \
        {id(p) for p in with_copy.hint_refinement.parameters()}


def test_perturbed_chroma_turns_only_picked_crops_with_hints():
    torch.manual_seed(4)
    ab_low = torch.randn(64, 2, 28, 28) * 30
    hints = simulate_hints(torch.randn(64, 2, 224, 224) * 30, torch.Generator().manual_seed(5))
    perturbed = perturb_chroma(ab_low, hints, 0.5, torch.Generator().manual_seed(6))
    changed = (perturbed != ab_low).flatten(1).any(1)
    assert not (changed & ~has_hints(hints)).any(), "crops without hints keep their chroma"
    assert 0 < int(changed.sum()) < int(has_hints(hints).sum())
    assert torch.equal(perturb_chroma(ab_low, hints, 0.5, torch.Generator().manual_seed(6)), perturbed)
    assert torch.equal(perturb_chroma(ab_low, hints, 0.0), ab_low)
    # A turn and a scaling of ab: gray stays gray, and the change is smooth over the crop.
    gray = perturb_chroma(torch.zeros_like(ab_low), hints, 1.0, torch.Generator().manual_seed(6))
    assert torch.equal(gray, torch.zeros_like(ab_low))
    ratio = perturbed[changed].norm(dim=1) / ab_low[changed].norm(dim=1)
    assert (ratio.diff(dim=-1).abs() < 0.2).float().mean() > 0.95
    with pytest.raises(ValueError, match="probability"):
        perturb_chroma(ab_low, hints, 1.5)


def test_training_feeds_the_hinted_cells_the_hints_bins(with_copy):
    """With perturbation, the refine stage's low-res input holds the hint's bins at every hinted
    cell, as the sampler's draws do, and its loss is the hint refinement's."""
    torch.manual_seed(7)
    ab = torch.randn(4, 2, 224, 224) * 20
    batch = {"l": torch.rand(4, 1, 224, 224) * 100, "ab": ab,
             "bins": torch.randint(0, 32, (4, 2, 28, 28))}
    seen = {}
    original = with_copy.refinement_loss

    def spy(l_work, bins, ab_work, hints=None):
        seen["bins"], seen["hints"] = bins, hints
        return original(l_work, bins, ab_work, hints)

    with_copy.refinement_loss = spy
    try:
        batch_losses(with_copy, "refine", batch, hint_generator=torch.Generator().manual_seed(8), perturb=1.0)
    finally:
        del with_copy.refinement_loss
    fixed = hinted_bins(seen["hints"], 28)
    assert (fixed >= 0).any()
    assert torch.equal(seen["bins"][fixed >= 0], fixed[fixed >= 0])
    assert not torch.equal(seen["bins"][fixed < 0], batch["bins"][fixed < 0])
