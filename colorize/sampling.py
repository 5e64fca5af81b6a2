"""Autoregressive sampling: raster order, channel by channel (PixelRNN Sec. 2).

The naive sampler re-runs the whole network for every new value, so an
H×W×C image costs H·W·C forward passes. It is the reference that faster
samplers must reproduce exactly.
"""

from __future__ import annotations

import torch
from tqdm.auto import tqdm

from colorize.color import classes_to_unit

SAMPLING_METHODS = ("naive",)


def sample_from_logits(
    logits: torch.Tensor, temperature: float = 1.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    """logits (B, K) → classes (B,), drawn from softmax(logits / temperature)."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if generator is not None and generator.device != probs.device:
        # A CPU generator with a model on the GPU: draw on the CPU, so one
        # seed gives the same samples on either device.
        return torch.multinomial(probs.cpu(), 1, generator=generator).squeeze(1).to(probs.device)
    return torch.multinomial(probs, 1, generator=generator).squeeze(1)


@torch.no_grad()
def sample_naive(
    model,
    batch_size: int,
    height: int,
    width: int,
    cond: torch.Tensor | None = None,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
    progress: bool = False,
) -> torch.Tensor:
    """Draw classes (batch_size, C, height, width), one forward pass per value."""
    device = next(model.parameters()).device
    c_total, k = model.num_channels, model.num_classes
    classes = torch.zeros(batch_size, c_total, height, width, dtype=torch.long, device=device)
    steps = tqdm(total=height * width * c_total, desc="sampling", disable=not progress)
    for i in range(height):
        for j in range(width):
            for c in range(c_total):
                x = classes_to_unit(classes, k)
                logits = model(x) if cond is None else model(x, cond)
                classes[:, c, i, j] = sample_from_logits(logits[:, :, c, i, j], temperature, generator)
                steps.update()
    steps.close()
    return classes


def sample(
    model,
    batch_size: int,
    height: int,
    width: int,
    cond: torch.Tensor | None = None,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
    method: str = "naive",
    progress: bool = False,
) -> torch.Tensor:
    """The one sampling entry point: classes (batch_size, C, height, width)."""
    if method not in SAMPLING_METHODS:
        raise ValueError(f"unknown sampling method {method!r}; available: {SAMPLING_METHODS}")
    was_training = model.training
    model.eval()
    try:
        return sample_naive(model, batch_size, height, width, cond, temperature, generator, progress)
    finally:
        model.train(was_training)
