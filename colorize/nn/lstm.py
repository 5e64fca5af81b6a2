"""LSTM gates laid out by colour group, for the PixelRNN recurrent layers.

"Pixel Recurrent Neural Networks" (van den Oord et al. 2016), Sec. 3.1 eq. 3:
[o, f, i, g] = [σ, σ, σ, tanh](K_ss ⊛ h_prev + K_is ⊛ x),
c = f ⊙ c_prev + i ⊙ g, h = o ⊙ tanh(c).

The 4h gate pre-activations come out of a masked convolution (or a masked
1×1 matrix), whose output channels are split into C *contiguous* colour
groups. Splitting them with ``chunk(4)`` would hand, say, all of colour group
0's channels to the input gate and some of group 2's to the cell candidate,
and the red unit would then read the blue value. So every 4h map here is laid
out group-major, (C, 4 gates, h / C units), and split only after a reshape;
each resulting h-channel map is again in contiguous colour groups, ready for
the next masked convolution.
"""

from __future__ import annotations

import torch
from torch import nn

# Gate order inside each colour group.
GATES = ("input", "forget", "output", "cell")


def lstm_cell(
    preact: torch.Tensor, cell: torch.Tensor, num_groups: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """One LSTM step on group-major gate pre-activations, channels last.

    The recurrent layers keep their per-step state channels-last so that the
    state-to-state product is one matrix multiply over all positions.

    Args:
        preact: (..., 4h), last dim laid out (num_groups, 4, h / num_groups) in the
            order of :data:`GATES`.
        cell: (..., h), the previous cell state, laid out (num_groups, h / num_groups).
        num_groups: colour groups C.
    Returns:
        hidden, cell: both (..., h), laid out (num_groups, h / num_groups).
    """
    *lead, four_h = preact.shape
    gates = preact.view(*lead, num_groups, 4, four_h // (4 * num_groups))
    input_gate, forget_gate, output_gate, candidate = gates.unbind(-2)
    kept = torch.sigmoid(forget_gate) * cell.view_as(candidate)
    cell = kept + torch.sigmoid(input_gate) * torch.tanh(candidate)
    hidden = torch.sigmoid(output_gate) * torch.tanh(cell)
    return hidden.reshape(*lead, -1), cell.reshape(*lead, -1)


def init_forget_bias(bias: torch.Tensor, num_groups: int, value: float = 1.0) -> None:
    """Set the forget-gate entries of a group-major 4h bias to ``value``.

    A positive forget bias lets the cell keep its memory early in training
    (Gers et al. 2000; Jozefowicz et al. 2015).
    """
    with torch.no_grad():
        bias.view(num_groups, 4, -1)[:, GATES.index("forget")] = value


def init_uniform(weight: torch.Tensor, fan_in: int) -> None:
    """Uniform(±1/√fan_in), PyTorch's default for a linear or conv layer."""
    bound = fan_in**-0.5
    nn.init.uniform_(weight, -bound, bound)
