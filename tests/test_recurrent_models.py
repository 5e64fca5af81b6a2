"""The PixelRNN recurrent models: Row LSTM and Diagonal BiLSTM (PixelRNN Sec. 3.1-3.2).

Gradients say which input values a logit depends on. The Row LSTM must be
causal with the triangular receptive field of Fig. 4; the Diagonal BiLSTM
must see exactly the whole past, on square and non-square maps alike.
"""

import pytest
import torch

from colorize.color import NUM_AB_BINS, NUM_RGB_CLASSES
from colorize.models import build_model, model_spec

MODELS = ["row_lstm", "diagonal_bilstm"]


# Wide enough that every colour group has a few live ReLU units: with the tiny
# preset's 12 output units, C = 3 leaves 4 per group, which can all be off.
WIDE = dict(hidden=12, output_hidden=48)


def tiny(name: str, channels: int = 1, classes: int = 16, **overrides):
    torch.manual_seed(0)
    model = build_model(name, preset="tiny", num_channels=channels, num_classes=classes, **overrides)
    return model.double().eval()


def seen(model, c: int, i: int, j: int, shape, samples: int = 4) -> torch.Tensor:
    """Bool (C, H, W): the input values with a nonzero gradient on the logits at (c, i, j).

    A small model's few ReLU units in one colour group can all be off for one
    input, which would zero every gradient; a value counts as seen if it has a
    gradient for any of a few random inputs (the batch entries are independent).
    """
    x = torch.randn(samples, *shape, dtype=torch.float64, requires_grad=True)
    model(x)[:, :, c, i, j].sum().backward()
    return (x.grad != 0).any(dim=0)


def past(c: int, i: int, j: int, shape) -> torch.Tensor:
    """Bool (C, H, W): the values before (c, i, j) in raster order, channel by channel."""
    mask = torch.zeros(shape, dtype=torch.bool)
    mask[:, :i] = True
    mask[:, i, :j] = True
    mask[:c, i, j] = True
    return mask


@pytest.mark.parametrize("first_kernel,widening", [(3, 0), (7, 2)])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_row_lstm_sees_a_triangle(first_kernel, widening, num_layers):
    """Fig. 4: with k = 3 each row up reaches one more column to the right.

    With a 3×3 first layer, (i-1, j+1) is seen and (i-1, j+2) is not; in row
    i-d the last column seen is j+d. A 7×7 first layer reaches 3 columns to
    the right in the rows it covers, which widens the triangle by 2 columns.
    More layers do not widen it: input-to-state only looks left.
    """
    height, width, i, j = 8, 14, 7, 3
    model = tiny("row_lstm", first_kernel=first_kernel, num_layers=num_layers, **WIDE)
    field = seen(model, 0, i, j, (1, height, width))[0]
    for d in range(1, i + 1):
        edge = j + d + widening
        assert field[i - d, edge], f"row {i - d}: misses column {edge} inside the triangle"
        assert not field[i - d, edge + 1 :].any(), f"row {i - d}: sees past column {edge}"
    if first_kernel == 3:
        assert field[i - 1, j + 1] and not field[i - 1, j + 2]
    assert not field[i, j:].any() and not field[i + 1 :].any()


@pytest.mark.parametrize("shape", [(1, 5, 9), (1, 9, 4), (3, 4, 6)])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_diagonal_bilstm_sees_exactly_the_past(shape, num_layers):
    """Sec. 3.2: the whole row above, every column, even at j = 0 and j = W-1.

    Every value before (c, i, j) influences its logits and nothing else does,
    at every position and channel, on non-square maps.
    """
    model = tiny("diagonal_bilstm", channels=shape[0], num_layers=num_layers, **WIDE)
    channels, height, width = shape
    for c in range(channels):
        for i in range(height):
            for j in range(width):
                field = seen(model, c, i, j, shape)
                assert torch.equal(field, past(c, i, j, shape)), f"({c}, {i}, {j})"


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("shape", [(2, 4, 7), (3, 6, 3)])
def test_causal_on_non_square_maps(name, shape):
    model = tiny(name, channels=shape[0], num_layers=2)
    for c in range(shape[0]):
        for i in range(shape[1]):
            for j in range(shape[2]):
                field = seen(model, c, i, j, shape)
                assert not field[~past(c, i, j, shape)].any(), f"{name} sees the future at {(c, i, j)}"


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("preset", ["tiny", "small", "base"])
@pytest.mark.parametrize("channels,classes", [(1, 4), (2, NUM_AB_BINS), (3, NUM_RGB_CLASSES)])
def test_every_preset_builds_and_runs(name, preset, channels, classes):
    torch.manual_seed(0)
    model = build_model(name, preset=preset, num_channels=channels, num_classes=classes)
    for height, width in [(3, 5), (5, 2)]:
        x = torch.rand(2, channels, height, width) * 2 - 1
        assert model(x).shape == (2, classes, channels, height, width)


@pytest.mark.parametrize("name", MODELS)
def test_batch_of_two_equals_two_batches_of_one(name):
    model = tiny(name, channels=3, classes=8, num_layers=2)
    x = torch.rand(2, 3, 6, 7, dtype=torch.float64) * 2 - 1
    together = model(x)
    apart = torch.cat([model(x[:1]), model(x[1:])])
    torch.testing.assert_close(together, apart, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", MODELS)
def test_learns_a_fixed_batch(name):
    """The gates, skews and residuals pass gradients that actually train."""
    torch.manual_seed(0)
    model = build_model(name, preset="tiny", num_channels=3, num_classes=8)
    classes = torch.randint(0, 8, (2, 3, 6, 6))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = model.loss(classes).item()
    for _ in range(30):
        optimizer.zero_grad()
        loss = model.loss(classes)
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.8 * first


@pytest.mark.parametrize("name", MODELS)
def test_config_rejects_hidden_not_divisible_by_channels(name):
    with pytest.raises(ValueError, match="divisible"):
        build_model(name, preset="tiny", num_channels=3, hidden=8)
    assert all(
        preset["hidden"] % 6 == 0 and preset["output_hidden"] % 6 == 0
        for preset in model_spec(name).presets.values()
    )
