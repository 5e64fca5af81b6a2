"""Gated PixelCNN: causality with conditioning present, the cond API, sampling, batching."""

import pytest
import torch
import torch.nn.functional as F

from colorize.color import classes_to_unit
from colorize.models import build_model
from colorize.nn import gated_activation

C, K, H, W = 2, 32, 6, 5  # non-square on purpose
VEC, MAP = 3, 4  # cond_channels, cond_map_channels


def conditional(**overrides):
    torch.manual_seed(0)
    config = dict(num_channels=C, num_classes=K, cond_channels=VEC, cond_map_channels=MAP)
    return build_model("gated_pixelcnn", preset="tiny", **{**config, **overrides}).double().eval()


def make_cond(batch: int, seed: int, scale: float = 1.0, map_size=(3, 4)):
    g = torch.Generator().manual_seed(seed)
    return {
        "vector": scale * torch.randn(batch, VEC, generator=g, dtype=torch.float64),
        "map": scale * torch.randn(batch, MAP, *map_size, generator=g, dtype=torch.float64),
    }


def test_causal_in_x_with_a_vector_and_a_map():
    """Every position and channel: d logits / d x obeys raster + channel order; d / d cond ≠ 0."""
    model = conditional()
    for c in range(C):
        for i in range(H):
            for j in range(W):
                x = torch.randn(1, C, H, W, dtype=torch.float64, requires_grad=True)
                cond = {k: v.requires_grad_() for k, v in make_cond(1, seed=1).items()}
                model(x, cond)[0, :, c, i, j].sum().backward()
                allowed = torch.zeros(C, H, W, dtype=torch.bool)
                allowed[:, :i] = True
                allowed[:, i, :j] = True
                allowed[:c, i, j] = True
                assert torch.all(x.grad[0][~allowed] == 0), f"(c={c}, i={i}, j={j}) sees the future"
                assert cond["vector"].grad.abs().sum() > 0 and cond["map"].grad.abs().sum() > 0


def test_grouped_gate_keeps_colour_groups_apart():
    """Output group c depends only on input group c."""
    x = torch.randn(1, 24, 2, 2, requires_grad=True)
    y = gated_activation(x, 3)  # (1, 12): groups of 4 out, of 8 in
    y[0, 4:8].sum().backward()
    assert torch.all(x.grad[0, :8] == 0) and torch.all(x.grad[0, 16:] == 0)
    assert torch.all(x.grad[0, 8:16] != 0)


def test_conditioning_changes_the_logits():
    model = conditional()
    x = torch.rand(2, C, H, W, dtype=torch.float64) * 2 - 1
    a, b = make_cond(2, seed=1), make_cond(2, seed=2)
    assert not torch.allclose(model(x, a), model(x, b))
    only_vector = {"vector": b["vector"], "map": a["map"]}
    assert not torch.allclose(model(x, a), model(x, only_vector))


def test_map_already_at_full_size_is_used_as_is():
    model = conditional()
    cond = make_cond(1, seed=1, map_size=(H, W))
    biases = model.condition_bias(cond, H, W)
    assert len(biases) == len(model.layers)
    v_bias, h_bias = biases[0]
    hidden = model.config.hidden
    assert v_bias.shape == h_bias.shape == (1, 2 * hidden, H, W)
    expected = model.layers[0].cond_proj(cond["vector"], cond["map"])[1]
    assert torch.equal(h_bias, expected)


def test_single_input_accepts_a_bare_tensor_or_a_dict():
    model = conditional(cond_map_channels=0)
    x = torch.zeros(1, C, H, W, dtype=torch.float64)
    vector = torch.randn(1, VEC, dtype=torch.float64)
    assert torch.equal(model(x, vector), model(x, {"vector": vector}))


@pytest.mark.parametrize(
    "cond,match",
    [
        (None, "is missing"),
        (torch.zeros(1, VEC), "pass cond="),
        ({"vector": torch.zeros(1, VEC)}, "exactly"),
        ({"vector": torch.zeros(1, VEC), "map": torch.zeros(1, MAP, 2, 2), "x": 0}, "exactly"),
        ({"vector": torch.zeros(1, VEC + 1), "map": torch.zeros(1, MAP, 2, 2)}, "cond vector"),
        ({"vector": torch.zeros(1, VEC), "map": torch.zeros(1, MAP, 2)}, "cond map"),
        ({"vector": torch.zeros(2, VEC), "map": torch.zeros(2, MAP, 2, 2)}, "batch size"),
        ({"vector": [0.0] * VEC, "map": torch.zeros(1, MAP, 2, 2)}, "tensor"),
    ],
)
def test_bad_cond_is_a_clear_error(cond, match):
    model = conditional()
    with pytest.raises(ValueError, match=match):
        model(torch.zeros(1, C, H, W, dtype=torch.float64), cond)


def test_unconditional_model_rejects_a_cond():
    model = build_model("gated_pixelcnn", preset="tiny", num_channels=C, num_classes=K)
    with pytest.raises(ValueError, match="unconditional"):
        model(torch.zeros(1, C, H, W), torch.zeros(1, VEC))


def test_hidden_must_split_into_colour_groups():
    with pytest.raises(ValueError, match="divisible"):
        build_model("gated_pixelcnn", preset="tiny", num_channels=3, hidden=10)


def test_sampling_is_seeded_and_follows_the_cond():
    model = conditional().float()
    a = {k: v.float() for k, v in make_cond(2, seed=1, scale=5.0).items()}
    b = {k: v.float() for k, v in make_cond(2, seed=2, scale=5.0).items()}

    def draw(cond):
        return model.sample(2, 4, 4, cond=cond, generator=torch.Generator().manual_seed(0))

    first = draw(a)
    assert first.shape == (2, C, 4, 4) and first.dtype == torch.long
    assert first.min() >= 0 and first.max() < K
    assert torch.equal(first, draw(a))
    assert not torch.equal(first, draw(b))


def test_loss_is_the_cross_entropy_of_the_conditional_logits():
    model = conditional().float()  # classes_to_unit gives float32
    classes = torch.randint(0, K, (2, C, H, W), generator=torch.Generator().manual_seed(0))
    cond = {k: v.float() for k, v in make_cond(2, seed=1).items()}
    loss = model.loss(classes, cond)
    expected = F.cross_entropy(model(classes_to_unit(classes, K), cond), classes)
    torch.testing.assert_close(loss, expected)
    # The cond reaches the loss: another one scores the same classes differently.
    other = model.loss(classes, {k: v.float() for k, v in make_cond(2, seed=2, scale=10.0).items()})
    assert (loss - other).abs() > 1e-3


def test_batch_of_two_equals_two_batches_of_one():
    model = conditional()
    x = torch.rand(2, C, H, W, dtype=torch.float64) * 2 - 1
    cond = make_cond(2, seed=1)
    both = model(x, cond)
    for n in range(2):
        one = model(x[n : n + 1], {k: v[n : n + 1] for k, v in cond.items()})
        torch.testing.assert_close(both[n : n + 1], one, rtol=1e-12, atol=1e-12)


def test_context_noise_perturbs_the_inputs_but_keeps_causality():
    torch.manual_seed(0)
    model = build_model("gated_pixelcnn", preset="tiny", num_channels=2, num_classes=8)
    classes = torch.randint(0, 8, (2, 2, 5, 5))
    clean = model.logits(classes)
    torch.manual_seed(1)
    noisy = model.logits(classes, context_noise=0.2)
    assert not torch.allclose(noisy, clean)
    # Changing a later value (a of pixel (2, 3), with the same noise) leaves
    # every earlier value's logits as they were.
    later = classes.clone()
    later[:, 0, 2, 3] = (later[:, 0, 2, 3] + 3) % 8
    torch.manual_seed(1)
    changed = model.logits(later, context_noise=0.2)
    order = torch.arange(5 * 5 * 2).view(5, 5, 2).permute(2, 0, 1)  # (C, H, W) → raster index
    earlier = order <= (2 * 5 + 3) * 2  # up to and including the changed value's own logits
    assert torch.allclose(changed[:, :, earlier], noisy[:, :, earlier])
    assert not torch.allclose(changed, noisy)
    assert model.loss(classes, context_noise=0.0).item() == pytest.approx(model.loss(classes).item())
