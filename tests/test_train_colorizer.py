"""The colorizer's training pipeline: stages, checkpoints that rebuild the colorizer, grids, baselines."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from colorize import Colorizer
from colorize.checkpoint import load_model
from colorize.models.ab_regression import AbRegression
from colorize.models.gated_pixelcnn import GatedPixelCNN
from colorize.models.pixcolor import HINT_LR_SCALE
from pipelines.train_colorizer import main

TINY = ["--preset", "tiny", "--batch-size", "2", "--size", "56", "--device", "cpu"]


def run(corpus, out, *extra):
    return main(["--data", str(corpus), "--out", str(out), *TINY, *extra])


def state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in module.state_dict().items()}


def test_stages_share_one_checkpoint_that_rebuilds_the_colorizer(corpus, tmp_path):
    out = tmp_path / "run"
    metrics = run(corpus, out, "--stage", "decoder", "--max-steps", "4", "--checkpoint-every", "2",
                  "--grid-images", "1", "--grid-samples", "1")
    assert 0 < metrics["val_bpd"] < 6  # bits per ab value, at most log2(32) = 5 for a fair guess
    grid = Image.open(out / "decoder" / "grid_000004.png")
    assert grid.size == (3 * 56 + 2 * 2, 56)  # gray | 1 sample | ground truth, 2-px gaps
    assert (out / "decoder" / "grid_000002.png").is_file()

    after_decoder, _ = load_model(out)
    run(corpus, out, "--stage", "refine", "--max-steps", "3", "--grid-images", "0")
    after_refine, config = load_model(out)
    # Each stage trains only its own network.
    for key, value in after_decoder.decoder.state_dict().items():
        assert torch.equal(value, after_refine.decoder.state_dict()[key]), key
    assert any(not torch.equal(v, after_refine.refinement.state_dict()[k])
               for k, v in after_decoder.refinement.state_dict().items())
    assert config["stages"]["decoder"]["step"] == 4 and config["stages"]["refine"]["step"] == 3
    assert (out / "refine" / "trainer.json").is_file() and (out / "decoder" / "trainer.json").is_file()

    images = Colorizer.from_pretrained(out, device="cpu").colorize(
        np.full((20, 30), 128, dtype=np.uint8), num_samples=1, seed=0
    )
    assert len(images) == 1 and images[0].size == (30, 20)


def test_a_stage_resumes_and_refuses_to_restart(corpus, tmp_path):
    out = tmp_path / "run"
    run(corpus, out, "--stage", "refine", "--max-steps", "4", "--stop-after", "2", "--grid-images", "0")
    assert json.loads((out / "config.json").read_text())["stages"]["refine"]["step"] == 2
    with pytest.raises(SystemExit, match="--resume"):
        run(corpus, out, "--stage", "refine", "--max-steps", "4", "--grid-images", "0")
    run(corpus, out, "--stage", "refine", "--max-steps", "4", "--grid-images", "0", "--resume")
    assert json.loads((out / "config.json").read_text())["stages"]["refine"]["step"] == 4
    log = [json.loads(line) for line in (out / "refine" / "log.jsonl").read_text().splitlines()]
    assert any("l1_ab" in record for record in log) and any("val_l1_ab" in record for record in log)


def test_baselines_train_into_their_own_run_folders(corpus, tmp_path):
    run(corpus, tmp_path / "uncond", "--stage", "unconditional", "--max-steps", "2")
    run(corpus, tmp_path / "regress", "--stage", "regression", "--max-steps", "2")
    uncond, _ = load_model(tmp_path / "uncond")
    regress, _ = load_model(tmp_path / "regress")
    assert isinstance(uncond, GatedPixelCNN) and not uncond.is_conditional
    assert isinstance(regress, AbRegression)
    # A run folder holds one kind of model.
    with pytest.raises(SystemExit, match="gated_pixelcnn"):
        run(corpus, tmp_path / "uncond", "--stage", "refine", "--max-steps", "2")


def test_a_plain_photo_folder_trains_and_still_gets_a_grid(corpus, tmp_path):
    out = tmp_path / "run"
    metrics = main(["--data", str(corpus / "train"), "--out", str(out), *TINY, "--max-steps", "2",
                    "--grid-images", "1", "--grid-samples", "1"])
    assert metrics == {}  # no validation split to score
    assert (out / "decoder" / "grid_000002.png").is_file()


def test_init_from_starts_a_new_run_from_another_runs_weights(corpus, tmp_path):
    first = tmp_path / "first"
    run(corpus, first, "--stage", "decoder", "--max-steps", "3", "--grid-images", "0")
    before, _ = load_model(first)
    # At learning rate 0 the new run's weights are exactly where it started.
    run(corpus, tmp_path / "second", "--stage", "decoder", "--max-steps", "2", "--grid-images", "0",
        "--lr", "0", "--init-from", str(first))
    after, config = load_model(tmp_path / "second")
    for key, value in before.state_dict().items():
        assert torch.equal(value, after.state_dict()[key]), key
    assert config["stages"]["decoder"]["step"] == 2
    assert config["history"] == [{"init_from": str(first),
                                  "stages": json.loads((first / "config.json").read_text())["stages"]}]


def test_the_decoders_context_noise_is_stored_for_its_sampler(corpus, tmp_path):
    out = tmp_path / "noisy"
    run(corpus, out, "--stage", "decoder", "--max-steps", "1", "--grid-images", "0", "--context-noise", "0.07")
    model, config = load_model(out)
    assert config["config"]["context_noise"] == 0.07 and model.config.context_noise == 0.07
    # The refinement stage keeps it; a checkpoint from before the field samples without noise.
    run(corpus, out, "--stage", "refine", "--max-steps", "1", "--grid-images", "0")
    assert load_model(out)[0].config.context_noise == 0.07
    stored = json.loads((out / "config.json").read_text())
    del stored["config"]["context_noise"]
    (out / "config.json").write_text(json.dumps(stored))
    assert load_model(out)[0].config.context_noise == 0.0


def test_a_new_run_builds_the_backbone_asked_for_and_trains_under_cpu_bf16(corpus, tmp_path):
    out = tmp_path / "run"
    run(corpus, out, "--stage", "decoder", "--max-steps", "2", "--grid-images", "0",
        "--backbone", "lite2", "--bf16")
    model, config = load_model(out)
    assert config["config"]["conditioning"]["backbone"] == "lite2"
    assert config["stages"]["decoder"]["trainer"]["bf16"] is True
    assert model.conditioning.adapter.project[0].in_channels == 48  # Lite2's stride-8 channels


def test_hints_fine_tune_from_a_model_without_them(corpus, tmp_path):
    """--hints adds the zero hint inputs to a trained model; both stages then train on simulated
    hints, the hint inputs at their own learning-rate multiple, and report val metrics both ways."""
    first = tmp_path / "first"
    run(corpus, first, "--stage", "decoder", "--max-steps", "1", "--grid-images", "0")
    out = tmp_path / "hints"
    metrics = run(corpus, out, "--stage", "decoder", "--max-steps", "2", "--grid-images", "0", "--hints",
                  "--init-from", str(first), "--context-noise", "0.1")
    assert {"val_bpd", "val_bpd_hints"} <= set(metrics)
    model, config = load_model(out)
    assert config["config"]["hints"] is True and config["config"]["context_noise"] == 0.1
    assert model.conditioning.adapter.project_hints.weight.abs().sum() > 0  # it trained
    trainer = json.loads((out / "decoder" / "trainer.json").read_text())
    scales = [group.get("lr_scale") for group in trainer["param_groups"]]
    assert scales == [1.0, HINT_LR_SCALE]
    metrics = run(corpus, out, "--stage", "refine", "--max-steps", "2", "--grid-images", "0")
    assert {"val_l1_ab", "val_l1_ab_hints"} <= set(metrics)
    assert load_model(out)[0].refinement.stem_hints.weight.abs().sum() > 0
    with pytest.raises(SystemExit, match="colorizer's stages"):
        run(corpus, tmp_path / "reg", "--stage", "regression", "--max-steps", "1", "--hints")


def test_hint_refinement_trains_a_copy_and_leaves_the_shared_refinement(corpus, tmp_path):
    """--hint-refinement copies the refinement for photos with hints and trains the copy alone,
    on perturbed low-res chroma; the shared one, for photos without hints, stays exactly as it was."""
    first = tmp_path / "first"
    run(corpus, first, "--stage", "refine", "--max-steps", "1", "--grid-images", "0", "--hints")
    before, _ = load_model(first)
    out = tmp_path / "copy"
    metrics = run(corpus, out, "--stage", "refine", "--max-steps", "2", "--grid-images", "0",
                  "--hint-refinement", "--init-from", str(first))
    assert {"val_l1_ab", "val_l1_ab_hints"} <= set(metrics)
    after, config = load_model(out)
    assert config["config"]["hint_refinement"] is True
    assert all(torch.equal(a, b) for a, b in zip(state(after.refinement).values(),
                                                 state(before.refinement).values()))
    assert any(not torch.equal(a, b) for a, b in zip(state(after.hint_refinement).values(),
                                                     state(before.refinement).values()))
    with pytest.raises(SystemExit, match="refine stage of a model with hint inputs"):
        run(corpus, tmp_path / "dec", "--stage", "decoder", "--max-steps", "1", "--hint-refinement",
            "--init-from", str(first))
    with pytest.raises(SystemExit, match="probability"):
        run(corpus, tmp_path / "bad", "--stage", "refine", "--max-steps", "1", "--perturb-lowres", "2",
            "--init-from", str(first))
