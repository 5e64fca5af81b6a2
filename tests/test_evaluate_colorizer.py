"""pipelines.evaluate_colorizer on untrained tiny checkpoints and a generated corpus.

Sampling 28×28 chroma costs one PixelCNN pass per value, so one evaluation
(2 images × 2 samples, one batch) is shared by most tests.
"""

import json
import math

import numpy as np
import pytest
import torch
from torch.utils.data import Subset

from colorize.checkpoint import load_model, save_model
from colorize.color import NUM_AB_BINS, lab_to_rgb
from colorize.nn.resize import resize
from colorize.dataset import ColorizerCrops
from colorize.metrics import mean_pairwise_ab_distance, psnr, ssim
from colorize.models import build_model
from colorize.models.ab_regression import AbRegression
from colorize.models.conditioning import BACKBONE_SIZE
from colorize.models.pixcolor import PixColor
from pipelines.corpus import split_images
from pipelines.evaluate_colorizer import FIELDS, evaluate, main
from pipelines.semantic_fidelity import SemanticJudge

from conftest import write_images

NUM_IMAGES = 2
NUM_SAMPLES = 2


@pytest.fixture(scope="module", autouse=True)
def single_thread():
    # Tiny tensors: intra-op threads cost more than they save, and on a shared
    # 2-core machine they make sampling several times slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """Untrained checkpoints of all three kinds, and a tiny corpus (as the `corpus` fixture)."""
    root = tmp_path_factory.mktemp("evaluate_colorizer")
    for split, count, seed in [("train", 2, 0), ("test", 3, 2)]:
        write_images(root / "corpus" / split, count, seed)
    torch.manual_seed(0)
    dirs = {"pixcolor": root / "pixcolor", "regression": root / "regression",
            "unconditional": root / "unconditional"}
    model = PixColor.from_preset("tiny")
    # Untrained, the refinement network is the identity on upsampled ab (its
    # last layer starts at zero); perturb it so that using it is visible.
    torch.nn.init.normal_(model.refinement.out.weight, std=0.05)
    save_model(dirs["pixcolor"], model)
    save_model(dirs["regression"], AbRegression.from_preset("tiny"))
    save_model(dirs["unconditional"],
               build_model("gated_pixelcnn", preset="tiny", num_channels=2, num_classes=NUM_AB_BINS))
    return root, dirs


def arguments(root, dirs, out, seed=0):
    return ["--checkpoint", str(dirs["pixcolor"]), "--data", str(root / "corpus"),
            "--samples", str(NUM_SAMPLES), "--max-images", str(NUM_IMAGES),
            "--batch-images", str(NUM_IMAGES), "--unconditional", str(dirs["unconditional"]),
            "--regression", str(dirs["regression"]), "--device", "cpu", "--seed", str(seed),
            "--out", str(out)]


@pytest.fixture(scope="module")
def results(setup):
    root, dirs = setup
    return main(arguments(root, dirs, root / "eval.json"))


@pytest.fixture(scope="module")
def held_out(setup):
    """The evaluated crops, L and ground-truth RGB, built independently of the pipeline."""
    root, _ = setup
    size = PixColor.from_preset("tiny").config.working_size
    dataset = ColorizerCrops(split_images(root / "corpus", "test"), size=size, min_scale=1.0,
                             deterministic=True, flip=False, crops_per_image=1, seed=0)
    items = [dataset[i] for i in range(NUM_IMAGES)]
    lightness = torch.stack([item["l"] for item in items])
    truth = lab_to_rgb(torch.cat([lightness, torch.stack([item["ab"] for item in items])], dim=1))
    return lightness, truth


def as_image(rgb: torch.Tensor) -> np.ndarray:
    return rgb.permute(1, 2, 0).double().numpy()


def test_results_have_every_row_and_field(results):
    assert list(results["methods"]) == ["pixcolor", "unconditional", "regression", "gray"]
    for name in ("pixcolor", "regression", "gray"):
        row = results["methods"][name]
        assert set(row) == set(FIELDS)
        for field in FIELDS:
            # Chroma sharpness at edges: of sampled chroma only (gray has none).
            if field == "edge_sharpness_ratio" and name != "pixcolor":
                assert row[field] is None
            elif field != "bits_per_dim":
                assert math.isfinite(row[field]), (name, field)
    assert results["images"] == NUM_IMAGES and results["samples"] == NUM_SAMPLES
    assert results["split"] == "test"


def test_json_is_written_and_matches(setup, results):
    root, _ = setup
    saved = json.loads((root / "eval.json").read_text())
    assert saved == results


def test_gray_row_is_the_gray_image(results, held_out):
    lightness, truth = held_out
    gray = lab_to_rgb(torch.cat([lightness, torch.zeros(len(lightness), 2, *lightness.shape[-2:])], 1))
    row = results["methods"]["gray"]
    expected_psnr = np.mean([psnr(as_image(g), as_image(t)) for g, t in zip(gray, truth)])
    expected_ssim = np.mean([ssim(as_image(g), as_image(t)) for g, t in zip(gray, truth)])
    assert row["psnr_first"] == row["psnr_best"] == row["psnr_mean"] == pytest.approx(expected_psnr, rel=1e-6)
    assert row["ssim_best"] == row["ssim_mean"] == pytest.approx(expected_ssim, rel=1e-6)
    assert row["psnr_first_vs_gray"] == row["psnr_best_vs_gray"] == 0.0
    # R = G = B up to float32 rounding in Lab → sRGB, on the paper's 0–255 scale.
    assert row["colourfulness"] == pytest.approx(0.0, abs=0.05)
    assert row["diversity"] == 0.0
    assert row["bits_per_dim"] is None


def test_regression_row_is_refined_by_the_pixcolor_checkpoint(setup, results, held_out):
    _, dirs = setup
    lightness, truth = held_out
    model, _ = load_model(dirs["pixcolor"])
    regression, _ = load_model(dirs["regression"])
    with torch.no_grad():
        ab = model.refinement(lightness, regression(resize(lightness, BACKBONE_SIZE, BACKBONE_SIZE)))
    rgb = lab_to_rgb(torch.cat([lightness, ab], dim=1))
    row = results["methods"]["regression"]
    expected = np.mean([psnr(as_image(r), as_image(t)) for r, t in zip(rgb, truth)])
    assert row["psnr_best"] == row["psnr_mean"] == pytest.approx(expected, rel=1e-4)
    assert row["ssim_best"] == row["ssim_mean"]
    assert row["diversity"] == 0.0


def test_pixcolor_samples_differ_and_best_beats_mean(results):
    row = results["methods"]["pixcolor"]
    # Strictly: the samples differ, so the best of N is above their mean (a "best"
    # that took the first or the mean sample would fail here).
    assert row["psnr_best"] > row["psnr_mean"] + 1e-3
    assert row["ssim_best"] > row["ssim_mean"]
    # An untrained decoder samples near-uniform bins: two samples are far apart.
    assert row["diversity"] > 1.0
    assert row["colourfulness"] > 0
    assert row["colourfulness_ratio"] == pytest.approx(
        row["colourfulness"] / results["ground_truth_colourfulness"])


def test_untrained_models_score_near_uniform_bits_per_dim(results):
    uniform = math.log2(NUM_AB_BINS)
    for name in ("pixcolor", "unconditional"):
        assert results["methods"][name]["bits_per_dim"] == pytest.approx(uniform, abs=0.5)
    assert all(value is None for field, value in results["methods"]["unconditional"].items()
               if field != "bits_per_dim")


def test_pixcolor_row_matches_direct_sampling(setup, results, held_out):
    """Same seed, same samples: redraw them by hand and score them image by image."""
    _, dirs = setup
    lightness, truth = held_out
    model, _ = load_model(dirs["pixcolor"])
    generator = torch.Generator().manual_seed(0)
    bins = model.sample_lowres(resize(lightness, BACKBONE_SIZE, BACKBONE_SIZE), NUM_SAMPLES, 1.0, generator)
    ab = model.refine(lightness, bins)  # (images·N, 2, S, S), image-major
    rgb = lab_to_rgb(torch.cat([lightness.repeat_interleave(NUM_SAMPLES, 0), ab], dim=1))
    first, best, mean, diversity = [], [], [], []
    for i in range(NUM_IMAGES):
        own = slice(i * NUM_SAMPLES, (i + 1) * NUM_SAMPLES)
        values = [psnr(as_image(r), as_image(truth[i])) for r in rgb[own]]
        first.append(values[0])
        best.append(max(values))
        mean.append(np.mean(values))
        diversity.append(mean_pairwise_ab_distance(ab[own].double().numpy()))
    row = results["methods"]["pixcolor"]
    assert row["psnr_first"] == pytest.approx(np.mean(first), rel=1e-6)
    gray_psnr = results["methods"]["gray"]["psnr_first"]
    assert row["psnr_first_vs_gray"] == pytest.approx(np.mean(first) - gray_psnr, rel=1e-6)
    assert row["psnr_best_vs_gray"] == pytest.approx(np.mean(best) - gray_psnr, rel=1e-6)
    assert row["psnr_best"] == pytest.approx(np.mean(best), rel=1e-6)
    assert row["psnr_mean"] == pytest.approx(np.mean(mean), rel=1e-6)
    assert row["diversity"] == pytest.approx(np.mean(diversity), rel=1e-6)


def test_semantic_fidelity_is_an_independent_classifier_on_the_first_outputs(results, held_out):
    """Lite1 judges the tiny Lite0 colorizer; the gray row is recomputed here by hand."""
    lightness, truth = held_out
    assert results["classifier"] == "lite1"
    gray = lab_to_rgb(torch.cat([lightness, torch.zeros(len(lightness), 2, *lightness.shape[-2:])], 1))
    judge = SemanticJudge("lite1")
    log_p_truth, log_p_gray = judge(truth), judge(gray)
    agree = (log_p_truth.argmax(1) == log_p_gray.argmax(1)).double().mean().item()
    kl = (log_p_truth.exp() * (log_p_truth - log_p_gray)).sum(1).mean().item()
    row = results["methods"]["gray"]
    assert row["top1_agreement"] == pytest.approx(agree)
    assert row["kl_from_original"] == pytest.approx(kl, rel=1e-4, abs=1e-6)
    for name in ("pixcolor", "regression"):
        assert 0.0 <= results["methods"][name]["top1_agreement"] <= 1.0
        assert results["methods"][name]["kl_from_original"] >= 0.0


def test_refinement_from_swaps_in_another_refinement_network(setup, results, tmp_path):
    root, dirs = setup
    model, _ = load_model(dirs["pixcolor"])
    torch.nn.init.normal_(model.refinement.out.weight, std=0.5)
    save_model(tmp_path / "donor", model)
    swapped = main([*arguments(root, dirs, tmp_path / "swapped.json"),
                    "--refinement-from", str(tmp_path / "donor")])
    # The decoder is the same: the same bits/dim, other refined colours.
    assert swapped["methods"]["pixcolor"]["bits_per_dim"] == results["methods"]["pixcolor"]["bits_per_dim"]
    assert swapped["methods"]["pixcolor"]["psnr_first"] != results["methods"]["pixcolor"]["psnr_first"]
    assert swapped["refinement_from"] == str(tmp_path / "donor")


def test_the_colorizers_own_backbone_is_refused_as_classifier(setup, corpus):
    _, dirs = setup
    with pytest.raises(SystemExit, match="the colorizer's own backbone"):
        main(["--checkpoint", str(dirs["pixcolor"]), "--data", str(corpus), "--samples", "2",
              "--classifier", "lite0"])


def test_same_seed_same_results(setup, results):
    root, dirs = setup
    again = main(arguments(root, dirs, root / "again.json"))
    assert again["methods"] == results["methods"]


def test_one_sample_has_no_diversity(setup, held_out):
    root, dirs = setup
    model, _ = load_model(dirs["pixcolor"])
    dataset = ColorizerCrops(split_images(root / "corpus", "test"), size=model.config.working_size,
                             min_scale=1.0, deterministic=True, flip=False, crops_per_image=1, seed=0)
    scores = evaluate(model, Subset(dataset, [0]), num_samples=1)
    row = scores["methods"]["pixcolor"]
    assert row["diversity"] is None
    assert row["psnr_best"] == row["psnr_mean"]


def test_wrong_checkpoint_kind_is_a_clear_error(setup, corpus, tmp_path):
    _, dirs = setup
    base = ["--data", str(corpus), "--samples", "2", "--device", "cpu", "--out", str(tmp_path / "x.json")]
    with pytest.raises(SystemExit, match="'ab_regression', but --checkpoint needs 'pixcolor'"):
        main(["--checkpoint", str(dirs["regression"]), *base])
    with pytest.raises(SystemExit, match="'pixcolor', but --unconditional needs 'gated_pixelcnn'"):
        main(["--checkpoint", str(dirs["pixcolor"]), "--unconditional", str(dirs["pixcolor"]), *base])
    with pytest.raises(SystemExit, match="'pixcolor', but --regression needs 'ab_regression'"):
        main(["--checkpoint", str(dirs["pixcolor"]), "--regression", str(dirs["pixcolor"]), *base])
    assert not (tmp_path / "x.json").exists()


def test_conditional_decoder_is_refused_as_unconditional_baseline(setup, corpus, tmp_path):
    _, dirs = setup
    save_model(tmp_path / "conditional", build_model(
        "gated_pixelcnn", preset="tiny", num_channels=2, num_classes=NUM_AB_BINS, cond_map_channels=4))
    with pytest.raises(SystemExit, match="conditional gated_pixelcnn"):
        main(["--checkpoint", str(dirs["pixcolor"]), "--data", str(corpus), "--samples", "2",
              "--unconditional", str(tmp_path / "conditional"), "--device", "cpu"])


def test_missing_split_and_bad_samples_are_errors(setup, corpus):
    _, dirs = setup
    with pytest.raises(SystemExit, match="no 'test' split"):
        # A plain image folder has no splits.
        main(["--checkpoint", str(dirs["pixcolor"]), "--data", str(corpus / "train"), "--samples", "2"])
    with pytest.raises(SystemExit):
        main(["--checkpoint", str(dirs["pixcolor"]), "--data", str(corpus), "--samples", "0"])
