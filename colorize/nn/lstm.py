"""LSTM gates laid out by colour group, for the PixelRNN recurrent layers.

"Pixel Recurrent Neural Networks" (van den Oord et al. 2016), Sec. 3.1 eq. 3:
[o, f, i, g] = [σ, σ, σ, tanh](K_ss ⊛ h_prev + K_is ⊛ x),
c = f ⊙ c_prev + i ⊙ g, h = o ⊙ tanh(c).

The 4h gate pre-activations come out of a :class:`MaskedConv2d`, whose output
channels are split into C *contiguous* colour groups. Splitting them with
``chunk(4)`` would hand, say, all of colour group 0's channels to the input
gate and some of group 2's to the cell candidate, and the red unit would then
read the blue value. So every 4h map here is laid out group-major,
(C, 4 gates, h / C units), and split only after a reshape; each resulting
h-channel map is again in contiguous colour groups, ready for the next masked
convolution.
"""

from __future__ import annotations

import torch

# Gate order inside each colour group; the three sigmoid gates come first so
# one sigmoid call covers them.
GATES = ("input", "forget", "output", "cell")


def lstm_cell(
    preact: torch.Tensor, cell: torch.Tensor, num_groups: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """One LSTM step on group-major gate pre-activations.

    Args:
        preact: (B, 4h, *S), channels laid out as (num_groups, 4, h / num_groups)
            in the order of :data:`GATES`.
        cell: (B, h, *S), the previous cell state, channels (num_groups, h / num_groups).
        num_groups: colour groups C (or C times any extra leading split, such as
            the two directions of the Diagonal BiLSTM, laid out outermost).
    Returns:
        hidden, cell: both (B, h, *S).
    """
    b, four_h = preact.shape[:2]
    spatial = preact.shape[2:]
    gates = preact.view(b, num_groups, 4, four_h // (4 * num_groups), *spatial)
    sig = torch.sigmoid(gates[:, :, :3])
    input_gate, forget_gate, output_gate = sig.unbind(2)
    candidate = torch.tanh(gates[:, :, 3])
    cell = forget_gate * cell.view_as(candidate) + input_gate * candidate
    hidden = output_gate * torch.tanh(cell)
    return hidden.reshape(b, -1, *spatial), cell.reshape(b, -1, *spatial)


def init_forget_bias(bias: torch.Tensor, num_groups: int, value: float = 1.0) -> None:
    """Set the forget-gate entries of a group-major 4h bias to ``value``.

    A positive forget bias lets the cell keep its memory early in training
    (Gers et al. 2000; Jozefowicz et al. 2015).
    """
    with torch.no_grad():
        bias.view(num_groups, 4, -1)[:, GATES.index("forget")] = value


def group_major_gates(preact: torch.Tensor, num_groups: int, num_splits: int) -> torch.Tensor:
    """Move an extra split out of the colour groups: (B, C·S·4h', ...) → (B, S·C·4h', ...).

    A masked convolution with S·4h outputs gives each colour group S·4h / C
    contiguous channels; this regroups them as (S, C, 4, h / C) so that each of
    the S splits (e.g. the two LSTM directions) is a group-major 4h map.
    """
    b, n = preact.shape[:2]
    rest = preact.shape[2:]
    x = preact.view(b, num_groups, num_splits, n // (num_groups * num_splits), *rest)
    return x.transpose(1, 2).reshape(b, n, *rest)

