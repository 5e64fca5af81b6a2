"""The gated activation, split per colour group, for masked (channel-causal) stacks.

"Conditional Image Generation with PixelCNN Decoders" (van den Oord et al.
2016), Eq. 2: y = tanh(W_f * x) ⊙ σ(W_g * x). :func:`colorize.nn.gated_activation`
takes f as the first half of the channels and g as the second half. After a
:class:`~colorize.nn.MaskedConv2d` with C colour groups that split is wrong:
the mask puts channel i of a 2k-channel map in group ``i // (2k / C)``, so the
first half holds the *early* groups and the second half the *late* ones, and
output channel m (group ``m // (k / C)``) would be gated by a channel of a later
group — it would see the current pixel's later colour channels.

Here every colour group's block of 2k / C channels holds its own f then its own
g, so output group c is made only from pre-activation group c.
"""

from __future__ import annotations

import torch


def grouped_gated_activation(x: torch.Tensor, num_groups: int) -> torch.Tensor:
    """(B, 2k, H, W) → (B, k, H, W), gating within each of ``num_groups`` colour groups.

    Input layout: C contiguous blocks of 2k / C channels (the grouping of
    :func:`colorize.nn.channel_groups`); in each block the first k / C channels
    are f and the last k / C are g. Output channel m belongs to group
    ``m // (k / C)``, again contiguous. With ``num_groups=1`` this is
    :func:`colorize.nn.gated_activation`.
    """
    b, n, h, w = x.shape
    if n % (2 * num_groups):
        raise ValueError(
            f"grouped gated activation needs channels divisible by 2·{num_groups}, got {n}"
        )
    blocks = x.view(b, num_groups, 2, n // (2 * num_groups), h, w)
    f = blocks[:, :, 0].reshape(b, n // 2, h, w)
    g = blocks[:, :, 1].reshape(b, n // 2, h, w)
    return torch.tanh(f) * torch.sigmoid(g)
