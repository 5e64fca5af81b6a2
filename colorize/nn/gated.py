"""The gated activation unit of the Gated PixelCNN.

"Conditional Image Generation with PixelCNN Decoders" (van den Oord et al.
2016), Eq. 2: y = tanh(W_f * x) ⊙ σ(W_g * x), over a 2k → k split.

After a :class:`~colorize.nn.MaskedConv2d` with C colour groups, the split
must happen *inside* each group. The mask puts channel i of a 2k-channel map
in group ``i // (2k / C)``; a plain halving would take f from the early
groups and g from the late ones, and the red output would then be gated by
the blue value of the current pixel. So the input is read as C contiguous
blocks of 2k / C channels, each its own f then its own g, and output group c
is made from input group c alone. With one group this is the plain halving.
"""

from __future__ import annotations

import torch


def gated_activation(x: torch.Tensor, num_groups: int = 1) -> torch.Tensor:
    """(B, 2k, H, W) → (B, k, H, W): tanh(f) ⊙ σ(g), split within each colour group.

    Input layout: ``num_groups`` contiguous blocks of 2k / C channels, in each
    the first k / C are f and the last k / C are g. The output has k channels
    in the same contiguous grouping.
    """
    b, n, h, w = x.shape
    if n % (2 * num_groups):
        raise ValueError(f"gated activation needs channels divisible by 2·{num_groups}, got {n}")
    blocks = x.view(b, num_groups, 2, n // (2 * num_groups), h, w)
    f = blocks[:, :, 0].reshape(b, n // 2, h, w)
    g = blocks[:, :, 1].reshape(b, n // 2, h, w)
    return torch.tanh(f) * torch.sigmoid(g)
