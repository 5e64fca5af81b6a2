"""The building blocks: masks, shifts, skew, gated activation, residual block."""

import pytest
import torch

from colorize.nn import (
    MaskedConv2d,
    MaskedResidualBlock,
    causal_mask,
    down_shift,
    gated_activation,
    right_shift,
    skew,
    unskew,
)


def test_mask_a_hides_current_and_later_channels_rgb():
    mask = causal_mask(3, 3, (3, 3), "A", num_groups=3)
    centre = mask[:, :, 1, 1]
    # R sees nothing of the current pixel, G sees R, B sees R and G.
    assert centre.tolist() == [[0, 0, 0], [1, 0, 0], [1, 1, 0]]
    assert torch.all(mask[:, :, 0, :] == 1)  # the row above
    assert torch.all(mask[:, :, 1, 0] == 1)  # the pixel to the left
    assert torch.all(mask[:, :, 1, 2] == 0) and torch.all(mask[:, :, 2, :] == 0)


def test_mask_b_shows_the_current_channel():
    centre = causal_mask(6, 3, (3, 3), "B", num_groups=3)[:, :, 1, 1]
    # Output channels 0-1 are R, 2-3 G, 4-5 B.
    assert centre.tolist() == [[1, 0, 0], [1, 0, 0], [1, 1, 0], [1, 1, 0], [1, 1, 1], [1, 1, 1]]


def test_mask_errors():
    with pytest.raises(ValueError, match="mask_type"):
        causal_mask(3, 3, (3, 3), "C", 3)
    with pytest.raises(ValueError, match="equal colour groups"):
        causal_mask(4, 3, (3, 3), "A", 3)
    with pytest.raises(ValueError, match="odd kernel"):
        MaskedConv2d(3, 3, 4, "A", 3)


def test_masked_conv_output_ignores_future_input():
    torch.manual_seed(0)
    conv = MaskedConv2d(1, 4, 5, "A", 1)
    x = torch.randn(1, 1, 6, 6)
    y = conv(x)
    x2 = x.clone()
    x2[0, 0, 3, 3:] = 7.0  # the current pixel and everything after it in its row
    x2[0, 0, 4:] = -7.0
    assert torch.equal(conv(x2)[0, :, 3, 3], y[0, :, 3, 3])


def test_shifts():
    x = torch.arange(12.0).view(1, 1, 3, 4)
    assert down_shift(x)[0, 0].tolist() == [[0, 0, 0, 0], [0, 1, 2, 3], [4, 5, 6, 7]]
    assert right_shift(x)[0, 0].tolist() == [[0, 0, 1, 2], [0, 4, 5, 6], [0, 8, 9, 10]]


@pytest.mark.parametrize("height,width", [(4, 5), (1, 3), (6, 2), (4, 1)])
def test_skew_layout_and_round_trip(height, width):
    x = torch.randn(2, height, width, 3, requires_grad=True)  # channels last
    skewed = skew(x)
    assert skewed.shape == (2, height, width + height - 1, 3)
    for i in range(height):
        assert torch.equal(skewed[:, i, i : i + width], x[:, i])
        assert torch.all(skewed[:, i, :i] == 0) and torch.all(skewed[:, i, i + width :] == 0)
    assert torch.equal(unskew(skewed, width), x)
    unskew(skewed, width).sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))


def test_gated_activation():
    f, g = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    out = gated_activation(torch.cat([f, g], 1))
    assert torch.allclose(out, torch.tanh(f) * torch.sigmoid(g))
    with pytest.raises(ValueError, match="divisible"):
        gated_activation(torch.randn(1, 3, 2, 2))


def test_residual_block_shape_and_identity_path():
    block = MaskedResidualBlock(hidden=6, kernel_size=3, num_groups=3)
    x = torch.randn(2, 12, 5, 5)
    assert block(x).shape == x.shape
    for p in block.net[-1].parameters():
        torch.nn.init.zeros_(p)
    assert torch.equal(block(x), x)
