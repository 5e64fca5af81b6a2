"""Which of M drawn chroma maps to keep: as drawn, the most likely, or the most different.

An autoregressive decoder knows the exact likelihood of each map it draws
(:func:`colorize.sampling.sample`, ``log_prob``); here it becomes bits per
value, and picks:

* ``"drawn"``: the first N, in the order drawn;
* ``"likely"``: the N with the fewest bits per value, best first;
* ``"diverse"``: greedy farthest-point selection, starting from the most
  likely map; each next pick is the map whose smallest mean |ab| distance
  (28×28 chroma, Lab units) to the maps already picked is largest.
"""

from __future__ import annotations

import math

import torch

from colorize.color import dequantize_ab

SELECTIONS = ("drawn", "likely", "diverse")


def bits_per_value(log_prob: torch.Tensor, num_values: int) -> torch.Tensor:
    """Log-likelihoods (M,) in nats of maps with ``num_values`` values each → bits per value (M,)."""
    return -log_prob / (num_values * math.log(2))


def check_selection(select: str, num_samples: int, draws: int | None) -> int:
    """The number of maps to draw for ``select``; a clear error for a bad choice."""
    if select not in SELECTIONS:
        raise ValueError(f"select must be one of {', '.join(SELECTIONS)}, got {select!r}")
    if draws is None:
        return num_samples if select == "drawn" else 4 * num_samples
    if not isinstance(draws, int) or isinstance(draws, bool) or draws < num_samples:
        raise ValueError(f"draws must be an int >= num_samples ({num_samples}), got {draws!r}")
    if select == "drawn" and draws != num_samples:
        raise ValueError(f"select='drawn' keeps the maps as drawn: draws must equal num_samples, got {draws}")
    return draws


def select_maps(bins: torch.Tensor, bits: torch.Tensor, num_samples: int, select: str) -> list[int]:
    """Indices into the M drawn maps ``bins`` (M, 2, 28, 28), with ``bits`` (M,), of the N to keep."""
    if select == "drawn":
        return list(range(num_samples))
    # Stable: of equally likely maps the one drawn first comes first.
    by_likelihood = torch.sort(bits, stable=True).indices.tolist()
    if select == "likely":
        return by_likelihood[:num_samples]
    ab = dequantize_ab(bins).flatten(1).double()  # (M, 2·28·28)
    picked = [by_likelihood[0]]
    nearest = (ab - ab[picked[0]]).abs().mean(1)  # each map's distance to the closest pick
    for _ in range(num_samples - 1):
        nearest[picked] = -1.0
        candidate = int(torch.argmax(nearest))
        picked.append(candidate)
        nearest = torch.minimum(nearest, (ab - ab[candidate]).abs().mean(1))
    return picked
