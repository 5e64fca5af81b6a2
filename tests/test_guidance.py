"""Classifier-free guidance and nucleus truncation: the cached sampler draws exactly the naive
sampler's samples with them, s = 1 is no guidance, s = 0 is the null branch alone."""

import math

import pytest
import torch

from colorize.models import build_model
from colorize.models.pixcolor import PixColor
from colorize.sampling import nucleus_logits, sample

HEIGHT, WIDTH = 4, 5


def gated(seed=0, scale=3.0):
    """A tiny conditional Gated PixelCNN with peaked distributions (weights scaled up)."""
    torch.manual_seed(seed)
    model = build_model("gated_pixelcnn", preset="tiny", num_channels=2, num_classes=32,
                        cond_map_channels=4).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(scale)
    return model


def conds(rows, seed=2):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(rows, 4, 3, 4, generator=g), torch.randn(1, 4, 3, 4, generator=g).expand(rows, -1, -1, -1)


def draw(model, batch, cond, null, method, seed=1, **options):
    return sample(model, batch, HEIGHT, WIDTH, cond=cond, null_cond=null, method=method,
                  generator=torch.Generator().manual_seed(seed), **options)


@pytest.mark.parametrize("batch, rows", [(1, 1), (3, 3), (4, 2), (6, 1)])
@pytest.mark.parametrize("options", [
    dict(guidance=2.0),
    dict(guidance=1.5, context_noise=0.1),
    dict(guidance=3.0, top_p=0.8, temperature=0.7),
    dict(guidance=1.0, top_p=0.6),
])
def test_cached_equals_naive_with_guidance_and_nucleus(batch, rows, options):
    model = gated()
    cond, null = conds(rows)
    naive = draw(model, batch, cond, null, "naive", **options)
    cached = draw(model, batch, cond, null, "cached", **options)
    assert naive.shape == (batch, 2, HEIGHT, WIDTH)
    assert torch.equal(naive, cached)


def test_guidance_one_is_no_guidance_and_zero_is_the_null_branch():
    model = gated()
    cond, null = conds(3)
    plain = draw(model, 3, cond, None, "cached")
    assert torch.equal(draw(model, 3, cond, null, "cached", guidance=1.0), plain)
    guided = draw(model, 3, cond, null, "cached", guidance=2.5)
    assert not torch.equal(guided, plain)
    # s = 0: u + 0·(c − u) = u, the model conditioned on the null map alone.
    assert torch.equal(draw(model, 3, cond, null, "cached", guidance=0.0), draw(model, 3, null, None, "cached"))


def test_a_guided_batch_equals_its_samples_drawn_alone():
    model = gated()
    cond, null = conds(2)
    together = sample(model, 4, HEIGHT, WIDTH, cond=cond, null_cond=null, guidance=2.0, context_noise=0.1,
                      generator=[torch.Generator().manual_seed(7), torch.Generator().manual_seed(8)])
    for index, seed in enumerate((7, 8)):
        alone = draw(model, 2, cond[index:index + 1], null[index:index + 1], "cached", seed=seed,
                     guidance=2.0, context_noise=0.1)
        assert torch.equal(together[2 * index:2 * index + 2], alone)


def test_guided_log_prob_is_the_conditional_models_likelihood_of_the_sample():
    model = gated()
    cond, null = conds(2)
    fixed = torch.full((2, 2, HEIGHT, WIDTH), -1, dtype=torch.long)
    fixed[1, :, 1, 2] = torch.tensor([3, 28])
    results = []
    for method in ("naive", "cached"):
        log_prob = torch.zeros(2, dtype=torch.float64)
        classes = draw(model, 2, cond, null, method, guidance=2.0, log_prob=log_prob, fixed=fixed)
        results.append((classes, log_prob))
    (naive, naive_lp), (cached, cached_lp) = results
    assert torch.equal(naive, cached) and cached[1, 0, 1, 2] == 3 and cached[1, 1, 1, 2] == 28
    torch.testing.assert_close(naive_lp, cached_lp)
    with torch.no_grad():
        nll = model.loss(cached, cond) * cached[0].numel()  # mean over 2 samples of the summed nats
        per_sample = torch.stack([model.loss(cached[i:i + 1], cond[i:i + 1]) for i in range(2)])
    expected = -per_sample.double() * cached[0].numel()
    torch.testing.assert_close(cached_lp, expected, rtol=1e-4, atol=1e-3)
    assert math.isclose(float(-cached_lp.mean()), float(nll), rel_tol=1e-4)


def test_the_nucleus_keeps_the_smallest_set_that_reaches_top_p():
    logits = torch.log(torch.tensor([[0.05, 0.5, 0.3, 0.15], [0.97, 0.01, 0.01, 0.01]]))
    kept = torch.isfinite(nucleus_logits(logits, 0.75))
    assert kept.tolist() == [[False, True, True, False], [True, False, False, False]]
    assert torch.isfinite(nucleus_logits(logits, 0.85)).tolist()[0] == [False, True, True, True]
    assert torch.isfinite(nucleus_logits(logits, 1.0)).all()


def test_a_tiny_nucleus_is_greedy_decoding():
    model = gated()
    cond, _ = conds(2)
    greedy_a = draw(model, 2, cond, None, "naive", seed=1, top_p=1e-6)
    greedy_b = draw(model, 2, cond, None, "cached", seed=99, top_p=1e-6)
    assert torch.equal(greedy_a, greedy_b)  # no randomness is left


@pytest.mark.parametrize("options, message", [
    (dict(guidance=2.0), "null"),
    (dict(guidance=float("nan")), "guidance"),
    (dict(guidance=-1.0), "guidance"),
    (dict(top_p=0.0), "top_p"),
    (dict(top_p=1.5), "top_p"),
])
def test_bad_guidance_and_top_p_are_clear_errors(options, message):
    model = gated()
    cond, _ = conds(1)
    with pytest.raises(ValueError, match=message):
        sample(model, 1, HEIGHT, WIDTH, cond=cond, **options)


def test_cond_dropout_trains_the_null_map_and_needs_one():
    torch.manual_seed(0)
    model = PixColor.from_preset("tiny", null_conditioning=True).eval()
    with torch.no_grad():
        model.null_cond.normal_()
        for layer in model.decoder.layers:
            layer.cond_proj.map.weight.normal_()
    lightness = torch.rand(2, 1, 224, 224) * 100
    bins = torch.randint(0, 32, (2, 2, 28, 28))
    with torch.no_grad():
        conditional = model.decoder_loss(lightness, bins)
        dropped = model.decoder_loss(lightness, bins, cond_dropout=0.999999,
                                     generator=torch.Generator().manual_seed(0))
        null = model.decoder.loss(bins, model.null_cond.expand(2, -1, -1, -1))
    torch.testing.assert_close(dropped, null)
    assert not torch.isclose(conditional, null)
    plain = PixColor.from_preset("tiny")
    with pytest.raises(ValueError, match="null conditioning"):
        plain.decoder_loss(lightness, bins, cond_dropout=0.1)
    with pytest.raises(ValueError, match="without a null"):
        plain.sample_lowres(lightness[:1], 1, guidance=2.0)
    guided = model.sample_lowres(lightness[:1], 2, guidance=2.0, generator=torch.Generator().manual_seed(1))
    assert guided.shape == (2, 2, 28, 28)


def test_the_colorizer_takes_the_models_default_guidance_and_checks_the_knobs():
    from colorize import Colorizer

    torch.manual_seed(0)
    model = PixColor.from_preset("tiny", null_conditioning=True, default_guidance=1.5)
    with torch.no_grad():
        model.null_cond.normal_()
        for layer in model.decoder.layers:
            layer.cond_proj.map.weight.normal_()
    colorizer = Colorizer(model, torch.device("cpu"))
    assert colorizer.sampling_settings() == (1.5, 1.0)
    photo = (torch.rand(40, 48) * 255).to(torch.uint8).numpy()
    default = colorizer.colorize(photo, num_samples=2, seed=3)
    explicit = colorizer.colorize(photo, num_samples=2, seed=3, guidance=1.5)
    plain = colorizer.colorize(photo, num_samples=2, seed=3, guidance=1.0)
    assert [a.tobytes() for a in default] == [b.tobytes() for b in explicit]
    assert [a.tobytes() for a in default] != [b.tobytes() for b in plain]
    for bad in (dict(guidance=float("inf")), dict(guidance=-0.5), dict(guidance=True), dict(top_p=0.0)):
        with pytest.raises(ValueError, match="guidance|top_p"):
            colorizer.colorize(photo, num_samples=1, **bad)
    with pytest.raises(ValueError, match="default_guidance"):
        PixColor.from_preset("tiny", default_guidance=2.0)
