"""Gradient-based causality for every autoregressive model, every position, every channel.

For the logits at (c, i, j), the gradient with respect to the input must be
exactly zero at every value that comes at or after (c, i, j) in the
generation order: later pixels in raster order, and channels ≥ c of (i, j).
"""

import pytest
import torch

from colorize.color import NUM_AB_BINS, NUM_RGB_CLASSES
from colorize.models import available_models, build_model

MODELS = ["pixelcnn", "row_lstm", "diagonal_bilstm", "gated_pixelcnn"]


def dependency_map(model, c: int, i: int, j: int, shape) -> torch.Tensor:
    """|d sum(logits[:, :, c, i, j]) / d x|, shape (C, H, W)."""
    x = torch.randn(1, *shape, dtype=torch.float64, requires_grad=True)
    logits = model(x)
    logits[0, :, c, i, j].sum().backward()
    return x.grad[0].abs()


def allowed_mask(c: int, i: int, j: int, shape) -> torch.Tensor:
    """True where (c', i', j') precedes (c, i, j) in the generation order."""
    channels, height, width = shape
    mask = torch.zeros(shape, dtype=torch.bool)
    mask[:, :i, :] = True
    mask[:, i, :j] = True
    mask[:c, i, j] = True
    return mask


def tiny(name: str, channels: int, classes: int):
    torch.manual_seed(0)
    return build_model(name, preset="tiny", num_channels=channels, num_classes=classes).double().eval()


def test_every_model_is_registered():
    assert sorted(MODELS) == available_models()


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("channels,classes", [(3, NUM_RGB_CLASSES), (2, NUM_AB_BINS), (1, 4)])
def test_logits_shape(name, channels, classes):
    model = tiny(name, channels, classes)
    x = torch.rand(2, channels, 5, 7, dtype=torch.float64) * 2 - 1
    assert model(x).shape == (2, classes, channels, 5, 7)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("channels", [3, 2])
def test_causal_at_every_position_and_channel(name, channels):
    shape = (channels, 8, 8)
    model = tiny(name, channels, 16)
    for c in range(channels):
        for i in range(shape[1]):
            for j in range(shape[2]):
                grad = dependency_map(model, c, i, j, shape)
                leaks = grad[~allowed_mask(c, i, j, shape)]
                assert torch.all(leaks == 0), f"{name}: logits at (c={c}, i={i}, j={j}) see the future"


def influence(name: str, i: int, j: int, size: int = 8) -> torch.Tensor:
    """Bool (size, size): which pixels influence the first channel's logits at (i, j)."""
    model = tiny(name, 1, 16)
    return dependency_map(model, 0, i, j, (1, size, size))[0] > 0


@pytest.mark.parametrize("name", ["gated_pixelcnn", "diagonal_bilstm"])
@pytest.mark.parametrize("j", [0, 3, 7])
def test_no_blind_spot(name, j):
    """The receptive field over the rows above has no holes.

    A blind spot (PixelCNN paper Sec. 2.1, Fig. 1) is a pixel the model
    ignores although a pixel further up in the same column is seen: the
    masked stack widens to the right by one column per row, from the top down.
    So: every seen pixel above implies the pixel below it is seen too, each
    row's seen pixels are one contiguous run, the row above reaches past the
    masked-convolution cone, and the current row's left part is seen.
    """
    size, i = 8, 7
    seen = influence(name, i, j, size)
    for row in range(i - 1):
        below = seen[row + 1]
        assert torch.all(below[seen[row]]), f"{name}: blind spot under row {row} for ({i}, {j})"
    for row in range(i):
        cols = seen[row].nonzero().flatten()
        if len(cols):
            assert len(cols) == cols[-1] - cols[0] + 1, f"{name}: hole in row {row}"
    assert seen[i - 1, min(j + 2, size - 1)], f"{name}: misses the pixels above-right"
    assert torch.all(seen[i, :j]), f"{name}: does not see its own row's left part"


def test_pixelcnn_has_the_blind_spot():
    """PixelCNN paper, Sec. 2.1 and Fig. 1: masked stacks miss pixels above-right.

    The 7×7 mask-A layer reaches 3 columns right in the row above; later 3×3
    mask-B layers only reach further right through rows higher up. So
    (i-1, j+4) is never seen, although (i-2, j+4), above it, is.
    """
    i, j = 7, 2
    seen = influence("pixelcnn", i, j)
    assert seen[i - 1, j + 3] and seen[i - 2, j + 4]
    assert not seen[i - 1, j + 4]


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_shipped_presets_are_causal_on_a_non_square_map(name):
    """The 'small' presets the baselines train with, on 3×6×9, every position and channel."""
    shape = (3, 6, 9)
    torch.manual_seed(0)
    model = build_model(name, preset="small", num_channels=3, num_classes=8).double().eval()
    for c in range(shape[0]):
        for i in range(shape[1]):
            for j in range(shape[2]):
                grad = dependency_map(model, c, i, j, shape)
                assert torch.all(grad[~allowed_mask(c, i, j, shape)] == 0), (c, i, j)
