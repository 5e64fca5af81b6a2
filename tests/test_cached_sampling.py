"""The cached sampler: the same samples and logits as naive sampling, batch-independent draws.

Naive sampling re-runs the network at every step, so it is the reference:
with the same generator the cached method must draw exactly the same
classes, and every step's logits must match a full forward pass.
"""

import pytest
import torch

from colorize.models import build_model
from colorize.models.gated_pixelcnn_cache import CachedGatedSampler
from colorize.models.pixcolor import LOWRES_SIZE, PixColor
from colorize.sampling import draw_noise, sample, sample_from_logits

SIZES = [(5, 5), (6, 4), (3, 8), (1, 1)]  # square, tall, wide, a single pixel


def gated(seed=0, scale=3.0, **overrides):
    """A tiny Gated PixelCNN with weights scaled up, so its distributions are peaked
    (near-uniform ones would hide a wrong logit behind an equally likely draw)."""
    torch.manual_seed(seed)
    model = build_model("gated_pixelcnn", preset="tiny", **overrides).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(scale)
    return model


def make_cond(model, batch, seed):
    g = torch.Generator().manual_seed(seed)
    cfg, cond = model.config, {}
    if cfg.cond_channels:
        cond["vector"] = torch.randn(batch, cfg.cond_channels, generator=g)
    if cfg.cond_map_channels:
        cond["map"] = torch.randn(batch, cfg.cond_map_channels, 3, 4, generator=g)
    return cond or None


SETUPS = {
    "unconditional_ab": dict(num_channels=2, num_classes=32),
    "unconditional_rgb": dict(num_channels=3, num_classes=16),
    "conditional_map": dict(num_channels=2, num_classes=32, cond_map_channels=4),
    "conditional_vector_and_map": dict(num_channels=2, num_classes=32, cond_channels=3, cond_map_channels=4),
    "wider_kernels": dict(num_channels=3, num_classes=8, first_kernel=5, kernel=5, hidden=12),
}


def both(model, batch, height, width, cond, seed=1, temperature=1.0, context_noise=0.0):
    return [sample(model, batch, height, width, cond=cond, temperature=temperature,
                   generator=torch.Generator().manual_seed(seed), method=method,
                   context_noise=context_noise)
            for method in ("naive", "cached")]


@pytest.mark.parametrize("setup", SETUPS)
@pytest.mark.parametrize("size", SIZES)
def test_cached_draws_the_same_samples_as_naive(setup, size):
    model = gated(**SETUPS[setup])
    naive, cached = both(model, 3, *size, make_cond(model, 3, seed=2))
    assert naive.shape == (3, model.num_channels, *size)
    assert torch.equal(naive, cached)


def test_same_samples_at_another_temperature_and_in_float64():
    model = gated(**SETUPS["conditional_vector_and_map"]).double()
    cond = {k: v.double() for k, v in make_cond(model, 2, seed=3).items()}
    naive, cached = both(model, 2, 4, 6, cond, temperature=0.7)
    assert torch.equal(naive, cached)


@pytest.mark.parametrize("setup", ["unconditional_rgb", "conditional_vector_and_map", "wider_kernels"])
def test_every_steps_logits_match_a_full_forward_pass(setup):
    """Causality makes the full forward pass over the finished sample give each step's logits."""
    model = gated(**SETUPS[setup])
    c, k, (h, w) = model.num_channels, model.num_classes, (5, 7)
    cond = make_cond(model, 2, seed=4)
    noise, _ = draw_noise(2, h * w * c, k, torch.Generator().manual_seed(5))
    steps = []

    def recording_draw(step_logits, temperature, step_noise):
        steps.append(step_logits.clone())
        return sample_from_logits(step_logits, temperature, step_noise)

    classes = CachedGatedSampler(model).sample(noise, h, w, cond, 1.0, recording_draw)
    # Steps run in raster order, channel by channel: (H·W·C, B, K) → (B, K, C, H, W).
    logits = torch.stack(steps).view(h, w, c, 2, k).permute(3, 4, 2, 0, 1)
    with torch.no_grad():
        reference = model.logits(classes, cond)
    torch.testing.assert_close(logits, reference, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("setup", ["conditional_map", "wider_kernels"])
def test_with_context_noise_cached_still_draws_what_naive_draws(setup):
    model = gated(**SETUPS[setup])
    cond = make_cond(model, 3, seed=2)
    naive, cached = both(model, 3, 5, 6, cond, context_noise=0.3)
    assert torch.equal(naive, cached)
    # The noise changes what the model reads, so it changes the draws; at 0 it draws nothing.
    assert not torch.equal(cached, both(model, 3, 5, 6, cond)[1])
    assert torch.equal(both(model, 3, 5, 6, cond, context_noise=0.0)[1], both(model, 3, 5, 6, cond)[1])


def test_context_noise_reaches_each_value_where_the_model_reads_it():
    """The logits of every step equal a full forward pass over the finished sample plus its
    context noise: each drawn value is read noisy, by the later steps only."""
    model = gated(**SETUPS["conditional_map"])
    c, k, (h, w) = model.num_channels, model.num_classes, (4, 5)
    cond = make_cond(model, 2, seed=4)
    noise, context = draw_noise(2, h * w * c, k, torch.Generator().manual_seed(5), context_noise=0.25)
    assert context.shape == (2, h * w * c) and 0.15 < context.std().item() < 0.35
    steps = []

    def recording_draw(step_logits, temperature, step_noise):
        steps.append(step_logits.clone())
        return sample_from_logits(step_logits, temperature, step_noise)

    classes = CachedGatedSampler(model).sample(noise, h, w, cond, 1.0, recording_draw, context=context)
    logits = torch.stack(steps).view(h, w, c, 2, k).permute(3, 4, 2, 0, 1)
    read = classes.float() * 2 / (k - 1) - 1 + context.view(2, h, w, c).permute(0, 3, 1, 2)
    with torch.no_grad():
        torch.testing.assert_close(logits, model(read, cond), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("method", ["naive", "cached"])
@pytest.mark.parametrize("context_noise", [0.0, 0.2])
def test_a_batch_of_two_is_two_batches_of_one(method, context_noise):
    """Draws come per sample, so a sample does not depend on the batch it is in."""
    model = gated(**SETUPS["conditional_vector_and_map"])
    cond = make_cond(model, 2, seed=6)
    together = sample(model, 2, 4, 5, cond=cond, generator=torch.Generator().manual_seed(7), method=method,
                      context_noise=context_noise)
    generator = torch.Generator().manual_seed(7)
    apart = [sample(model, 1, 4, 5, cond={key: v[n:n + 1] for key, v in cond.items()},
                    generator=generator, method=method, context_noise=context_noise) for n in range(2)]
    assert torch.equal(together, torch.cat(apart))
    assert not torch.equal(apart[0], apart[1])


@pytest.mark.parametrize("setup", ["conditional_map", "conditional_vector_and_map"])
def test_one_cond_per_image_draws_what_the_repeated_cond_draws(setup):
    """The cached sampler projects each image's cond once for its N samples; the samples, and
    their likelihoods, are those of the cond repeated N times, and of naive sampling."""
    model = gated(**SETUPS[setup])
    cond = make_cond(model, 2, seed=8)  # two images
    repeated = {key: value.repeat_interleave(3, dim=0) for key, value in cond.items()}
    results = []
    for method, given in (("cached", cond), ("cached", repeated), ("naive", cond), ("naive", repeated)):
        log_prob = torch.zeros(6, dtype=torch.float64)
        drawn = sample(model, 6, 4, 5, cond=given, generator=torch.Generator().manual_seed(9), method=method,
                       log_prob=log_prob, context_noise=0.1)
        results.append((drawn, log_prob))
    for drawn, log_prob in results[1:]:
        assert torch.equal(drawn, results[0][0])
        torch.testing.assert_close(log_prob, results[0][1])
    assert not torch.equal(results[0][0][0], results[0][0][3])  # the two images' samples differ
    with pytest.raises(ValueError, match="multiple"):
        sample(model, 5, 2, 2, cond=cond)


def test_fixed_values_are_taken_the_same_way_by_both_samplers():
    """Fixed values replace the draws; the rest are drawn given them, naive and cached alike,
    and the free values before the first fixed one are exactly those drawn without any."""
    model = gated(**SETUPS["conditional_map"])
    cond = make_cond(model, 2, seed=3)
    fixed = torch.full((2, 2, 4, 5), -1, dtype=torch.long)
    fixed[0, :, 2, 3] = torch.tensor([5, 30])
    fixed[1, 1, 1, 0] = 7
    runs = []
    for method in ("naive", "cached"):
        log_prob = torch.zeros(2, dtype=torch.float64)
        runs.append((sample(model, 2, 4, 5, cond=cond, generator=torch.Generator().manual_seed(4), method=method,
                            log_prob=log_prob, context_noise=0.1, fixed=fixed), log_prob))
    (naive, naive_lp), (cached, cached_lp) = runs
    assert torch.equal(naive, cached)
    torch.testing.assert_close(naive_lp, cached_lp)
    assert naive[0, 0, 2, 3] == 5 and naive[0, 1, 2, 3] == 30 and naive[1, 1, 1, 0] == 7
    free = sample(model, 2, 4, 5, cond=cond, generator=torch.Generator().manual_seed(4), context_noise=0.1)
    order = lambda x: x.permute(0, 2, 3, 1).reshape(2, -1)  # raster and channel order
    assert torch.equal(order(cached)[0, :2 * 5 * 2 + 3 * 2], order(free)[0, :2 * 5 * 2 + 3 * 2])
    assert not torch.equal(cached, free)
    with pytest.raises(ValueError, match="fixed must be"):
        sample(model, 2, 4, 5, cond=cond, fixed=fixed[:, :1])


def test_the_sampling_loop_runs_on_one_thread_and_restores_the_setting(monkeypatch):
    model = gated(**SETUPS["conditional_map"])
    seen = []
    original = torch.addmm

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return original(*args, **kwargs)

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        sampler = model.cached_sampler()
        monkeypatch.setattr(torch, "addmm", spy)
        noise, _ = draw_noise(2, 3 * 3 * 2, 32, torch.Generator().manual_seed(0))
        sampler.sample(noise, 3, 3, make_cond(model, 2, seed=1))
        assert seen[0] == 2 and set(seen[1:]) == {1}  # the conditioning matmul first, then the loop
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_seeds_and_low_temperature():
    model = gated(**SETUPS["unconditional_ab"])
    first, again, other = (sample(model, 2, 4, 4, generator=torch.Generator().manual_seed(s))
                           for s in (1, 1, 2))
    assert torch.equal(first, again) and not torch.equal(first, other)
    torch.nn.init.zeros_(model.output[-1].weight)
    with torch.no_grad():
        model.output[-1].bias.copy_(torch.arange(32.0).repeat(2))  # the last class is the mode
    cold = sample(model, 2, 3, 3, temperature=1e-3, generator=torch.Generator().manual_seed(0))
    assert torch.all(cold == 31)


def test_cached_is_the_default_and_the_colorizer_uses_it(monkeypatch):
    model = PixColor.from_preset("tiny").eval()
    calls = []
    original = CachedGatedSampler.sample

    def spy(self, *args, **kwargs):
        calls.append(args[0].shape)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(CachedGatedSampler, "sample", spy)
    bins = model.sample_lowres(torch.rand(1, 1, 224, 224) * 100, 3,
                               generator=torch.Generator().manual_seed(0))
    assert bins.shape == (3, 2, LOWRES_SIZE, LOWRES_SIZE) and len(calls) == 1


def test_the_colorizer_samples_with_the_context_noise_it_was_trained_with():
    torch.manual_seed(0)
    model = PixColor.from_preset("tiny", context_noise=0.2).eval()
    lightness = torch.rand(1, 1, 224, 224) * 100
    bins = model.sample_lowres(lightness, 2, generator=torch.Generator().manual_seed(0))
    expected = model.decoder.sample(2, LOWRES_SIZE, LOWRES_SIZE, cond=model.conditioning(lightness).repeat(
        2, 1, 1, 1), generator=torch.Generator().manual_seed(0), context_noise=0.2)
    assert torch.equal(bins, expected)
    with pytest.raises(ValueError, match="context_noise"):
        PixColor.from_preset("tiny", context_noise=1.5)


def test_bad_methods_are_clear_errors():
    with pytest.raises(ValueError, match="unknown sampling method"):
        sample(gated(num_channels=2, num_classes=32), 1, 2, 2, method="fast")
    with pytest.raises(ValueError, match="no cached sampler"):
        sample(build_model("pixelcnn", preset="tiny"), 1, 2, 2, method="cached")
    with pytest.raises(ValueError, match="temperature"):
        sample(gated(num_channels=2, num_classes=32), 1, 2, 2, temperature=0.0)
    with pytest.raises(ValueError, match="context_noise"):
        sample(gated(num_channels=2, num_classes=32), 1, 2, 2, context_noise=-0.1)
