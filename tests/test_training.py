"""Likelihood, training, sampling and checkpoints for every model of the zoo."""

import json
import math

import pytest
import torch

from colorize.checkpoint import load_model, save_model
from colorize.color import NUM_AB_BINS, NUM_RGB_CLASSES
from colorize.models import build_model
from pipelines import evaluate_nll, train_baseline

MODELS = ["pixelcnn", "row_lstm", "diagonal_bilstm", "gated_pixelcnn"]


def tiny(name, channels=3, classes=256, seed=0):
    torch.manual_seed(seed)
    return build_model(name, preset="tiny", num_channels=channels, num_classes=classes)


def random_classes(channels, classes, size=8, batch=4, seed=1):
    return torch.randint(0, classes, (batch, channels, size, size), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("channels,classes", [(3, NUM_RGB_CLASSES), (2, NUM_AB_BINS)])
def test_untrained_bits_per_dim_is_close_to_log2_k(name, channels, classes):
    model = tiny(name, channels, classes)
    bpd = model.bits_per_dim(random_classes(channels, classes)).item()
    assert abs(bpd - math.log2(classes)) < 0.1 * math.log2(classes)


@pytest.mark.parametrize("name", MODELS)
def test_a_few_steps_lower_the_nll_on_a_fixed_batch(name):
    model = tiny(name, 2, 32)
    batch = random_classes(2, NUM_AB_BINS)
    batch[:, :, ::2] = 5  # structure worth learning
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    before = model.loss(batch).item()
    for _ in range(20):
        optimizer.zero_grad()
        model.loss(batch).backward()
        optimizer.step()
    assert model.loss(batch).item() < before - 0.1


@pytest.mark.parametrize("name", MODELS)
def test_sampling_is_valid_and_seeded(name):
    model = tiny(name, 3, 16)
    first = model.sample(2, 3, 4, generator=torch.Generator().manual_seed(7))
    again = model.sample(2, 3, 4, generator=torch.Generator().manual_seed(7))
    other = model.sample(2, 3, 4, generator=torch.Generator().manual_seed(8))
    assert first.shape == (2, 3, 3, 4) and first.dtype == torch.long
    assert first.min() >= 0 and first.max() < 16
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_sampling_rejects_bad_temperature():
    with pytest.raises(ValueError, match="temperature"):
        tiny("pixelcnn").sample(1, 2, 2, temperature=0)


def test_low_temperature_picks_the_mode():
    model = tiny("pixelcnn", 1, 8)
    torch.nn.init.zeros_(model.output[-1].weight)
    with torch.no_grad():
        model.output[-1].bias.copy_(torch.arange(8.0))  # class 7 is the most likely everywhere
    sample = model.sample(2, 3, 3, temperature=1e-3, generator=torch.Generator().manual_seed(0))
    assert torch.all(sample == 7)


@pytest.mark.parametrize("name", MODELS)
def test_checkpoint_round_trip(tmp_path, name):
    model = tiny(name, 2, 32).eval()
    save_model(tmp_path, model, note="x")
    loaded, config = load_model(tmp_path)
    batch = random_classes(2, NUM_AB_BINS)
    assert config["note"] == "x" and config["model"] == name
    assert torch.equal(model.logits(batch), loaded.logits(batch))
    assert not list(tmp_path.glob("*.tmp"))


def test_train_resume_and_evaluate(tmp_path, corpus, capsys):
    out = tmp_path / "run"
    common = ["--model", "gated_pixelcnn", "--data", str(corpus), "--out", str(out), "--size", "8",
              "--channels", "ab", "--preset", "tiny", "--batch-size", "4", "--checkpoint-every", "2"]
    metrics = train_baseline.main(common + ["--max-steps", "4"])
    assert "val_bpd" in metrics
    config = json.loads((out / "config.json").read_text())
    assert config["step"] == 4 and config["data"]["channels"] == "ab"
    assert (out / "model.safetensors").is_file() and (out / "optimizer.safetensors").is_file()

    with pytest.raises(SystemExit, match="--resume"):
        train_baseline.main(common + ["--max-steps", "6"])
    train_baseline.main(common + ["--max-steps", "6", "--resume"])
    assert json.loads((out / "config.json").read_text())["step"] == 6
    steps = [json.loads(line)["step"] for line in (out / "log.jsonl").read_text().splitlines()]
    assert max(steps) == 6

    result = evaluate_nll.main(["--checkpoint", str(out), "--data", str(corpus), "--crops-per-image", "2"])
    assert result["split"] == "test" and result["crops"] == 4
    assert 0 < result["bits_per_dim"] < 2 * math.log2(32)


def test_resumed_run_matches_an_uninterrupted_one(tmp_path, corpus):
    common = ["--model", "pixelcnn", "--data", str(corpus), "--size", "8", "--channels", "rgb",
              "--preset", "tiny", "--batch-size", "4", "--checkpoint-every", "3", "--max-steps", "6"]
    train_baseline.main(common + ["--out", str(tmp_path / "straight")])
    train_baseline.main(common + ["--out", str(tmp_path / "split"), "--stop-after", "3"])
    assert json.loads((tmp_path / "split" / "config.json").read_text())["step"] == 3
    train_baseline.main(common + ["--out", str(tmp_path / "split"), "--resume"])
    a, _ = load_model(tmp_path / "straight")
    b, _ = load_model(tmp_path / "split")
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.allclose(pa, pb, atol=1e-6), name


@pytest.mark.parametrize("setup", ["missing", "empty"])
def test_clear_error_for_missing_or_empty_data(tmp_path, setup):
    data = tmp_path / "data"
    if setup == "empty":
        data.mkdir()
    with pytest.raises((FileNotFoundError, ValueError), match=str(data.name)):
        train_baseline.main(["--model", "pixelcnn", "--data", str(data), "--out", str(tmp_path / "run")])


def test_bits_per_dim_is_the_summed_nll_over_all_values(corpus):
    """Sum over every value / count / ln 2, not a mean of batch means (last batch is short)."""
    from pipelines.corpus import crops

    dataset = crops(corpus, "test", 8, "ab", train=False, crops_per_image=3)  # 6 crops
    model = tiny("gated_pixelcnn", 2, 32).eval()
    classes = torch.stack([dataset[i] for i in range(len(dataset))])
    with torch.no_grad():
        expected = torch.nn.functional.cross_entropy(model.logits(classes), classes, reduction="sum")
    expected = expected.item() / classes.numel() / math.log(2)
    assert evaluate_nll.bits_per_dim(model, dataset, batch_size=4) == pytest.approx(expected, rel=1e-5)
