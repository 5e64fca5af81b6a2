"""Autoregressive sampling: raster order, channel by channel (PixelRNN Sec. 2).

Two methods, one entry point, :func:`sample`:

* ``"cached"`` (the default): each activation is computed once, from small
  per-layer caches (:mod:`colorize.models.gated_pixelcnn_cache`). Only models
  that provide ``cached_sampler()`` have it: the Gated PixelCNN.
* ``"naive"``: re-runs the whole network for every new value, so an H×W×C
  image costs H·W·C forward passes. Any model can use it; it is the
  reference that the cached method must reproduce exactly.

Both draw value t of sample b by the Gumbel-max trick, argmax over the K
classes of logits / temperature + g[b, t], with Gumbel noise g drawn before
the first step, sample after sample (:func:`draw_noise`). So the two methods
make the same draws, and a sample does not depend on the batch it is in: a
batch of 2 gives what two batches of 1 give with the same generator.

Classifier-free guidance (Ho and Salimans 2022, Sec. 3.2, there for
diffusion; autoregressive image models such as Parti apply it to each token's
logits): a model trained with its conditioning sometimes replaced by a null
one gives, at every step, conditional logits c and unconditional ones u from
the same context; the value is drawn from u + s·(c − u). With s > 1 the draw
leans towards what the conditioning says and away from what any image would
have there. Both samplers run it as one batch of 2B rows, the conditional
half and the null half, which read the same drawn values: each step's
logits of the two halves make one guided draw, written into both.

A model trained on noisy context (``context_noise``, see
:meth:`colorize.models.base.AutoregressiveModel.loss`) reads its context as
noisy; fed its own exact draws instead, it shrinks every value towards the
conditional mean, and over the rows the sample fades (for chroma: towards
gray). With ``context_noise`` the samplers add the same noise to each drawn
value where the model reads it, so that it reads context as it was trained
to; the value itself, and what is returned, stays the drawn class.
"""

from __future__ import annotations

import torch
from tqdm.auto import tqdm

from colorize.color import classes_to_unit

SAMPLING_METHODS = ("cached", "naive")
# The largest guidance scale accepted: far beyond any useful one (at 3 the
# samples already oversaturate; the model card's sweep).
MAX_GUIDANCE = 20.0


Generators = torch.Generator | list[torch.Generator | None] | None


def draw_noise(
    batch_size: int, num_steps: int, num_classes: int, generator: Generators = None,
    device: torch.device | str = "cpu", context_noise: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Gumbel noise (batch_size, num_steps, num_classes) and, for ``context_noise`` > 0, the
    context noise (batch_size, num_steps), already scaled; sample b's is drawn whole (its Gumbel
    rows, then its context noise) before b + 1's.

    ``generator``: one generator (or None) for the whole batch, or a list of
    G, G dividing batch_size, each drawing batch_size / G consecutive samples
    (one photo's): so several photos in one batch get the draws that each
    would get alone from its own generator. Drawn on the generator's device
    (the CPU for None) and moved to ``device``, so one seed gives the same
    samples on any device. Without context noise the draws are those of a
    model trained without it.
    """
    generators = generator if isinstance(generator, list) else [generator]
    if not generators or batch_size % len(generators):
        raise ValueError(f"{len(generators)} generators; batch_size {batch_size} must be a multiple of them")
    per_generator = batch_size // len(generators)
    gumbel_rows, context_rows = [], []
    for b in range(batch_size):
        generator = generators[b // per_generator]
        source = "cpu" if generator is None else generator.device
        gumbel_rows.append(torch.rand(num_steps, num_classes, generator=generator, device=source))
        if context_noise > 0:
            context_rows.append(torch.randn(num_steps, generator=generator, device=source))
    uniforms = torch.stack(gumbel_rows) if gumbel_rows else torch.zeros(0, num_steps, num_classes)
    # The smallest positive float keeps log(0) out; u < 1, so -log(u) > 0 and the outer log is finite.
    gumbel = -torch.log(-torch.log(uniforms.clamp_(min=torch.finfo(uniforms.dtype).tiny))).to(device)
    if context_noise <= 0:
        return gumbel, None
    context = torch.stack(context_rows) if context_rows else torch.zeros(0, num_steps)
    return gumbel, (context_noise * context).to(device)


def sample_from_logits(logits: torch.Tensor, temperature: float, noise: torch.Tensor) -> torch.Tensor:
    """logits (B, K), Gumbel noise (B, K) → classes (B,), drawn from softmax(logits / temperature).

    Gumbel-max: argmax(logits / T + g) with g ~ Gumbel(0, 1) is distributed
    as softmax(logits / T), in two operations per step.
    """
    # Dividing by 1 changes nothing, so skipping it keeps draws identical and saves a step.
    scaled = logits.float() if temperature == 1 else logits.float() / temperature
    return (scaled + noise).argmax(dim=-1)


def nucleus_logits(logits: torch.Tensor, top_p: float) -> torch.Tensor:
    """logits (B, K) → the same with every class outside the nucleus at −inf.

    The nucleus (Holtzman et al. 2020, Sec. 3.1) is the smallest set of the
    most likely classes whose probability reaches ``top_p``; the most likely
    class is always in it. Gumbel-max on the result draws from the
    renormalised nucleus.
    """
    ordered, order = logits.sort(dim=-1, descending=True)
    before = ordered.softmax(-1).cumsum(-1) - ordered.softmax(-1)  # mass of the classes above each
    outside = torch.zeros_like(before, dtype=torch.bool).scatter(-1, order, before >= top_p)
    return logits.masked_fill(outside, float("-inf"))


def make_draw(temperature: float = 1.0, top_p: float = 1.0, guidance: float = 1.0, batch_size: int = 0):
    """The per-step draw ``(logits, temperature, noise) → classes`` for these settings.

    ``top_p`` < 1 truncates each value's distribution (after the temperature) to its
    nucleus. ``guidance`` ≠ 1: the logits are (2B, K), the conditional rows then the
    null rows (module docstring); the B guided classes are returned twice, so that
    both halves read them. ``batch_size``: B, needed with guidance.
    """
    def draw(logits: torch.Tensor, temperature: float, noise: torch.Tensor) -> torch.Tensor:
        if guidance != 1:
            cond, null = logits.float().split(batch_size)
            logits, noise = null + guidance * (cond - null), noise[:batch_size]
        if top_p < 1:
            scaled = logits.float() if temperature == 1 else logits.float() / temperature
            value = (nucleus_logits(scaled, top_p) + noise).argmax(dim=-1)
        else:
            value = sample_from_logits(logits, temperature, noise)
        return value if guidance == 1 else torch.cat([value, value])
    return draw


@torch.no_grad()
def sample_naive(
    model,
    noise: torch.Tensor,
    height: int,
    width: int,
    cond=None,
    temperature: float = 1.0,
    progress: bool = False,
    num_steps: int | None = None,
    log_prob: torch.Tensor | None = None,
    context: torch.Tensor | None = None,
    fixed: torch.Tensor | None = None,
    draw=sample_from_logits,
) -> torch.Tensor:
    """Gumbel noise (B, H·W·C, K) → classes (B, C, height, width), one forward pass per value.

    ``num_steps``: stop after the first this many values (raster order), the
    rest left at class 0. Every step costs the same, so a benchmark can time
    a prefix and extrapolate. ``log_prob`` (B,): as in :func:`sample`.
    ``context`` (B, H·W·C), raster order: noise added to each drawn value
    where the model reads it (:func:`draw_noise`). ``fixed``: as in :func:`sample`.
    ``draw``: one step's logits → classes (:func:`make_draw`).
    """
    device = noise.device
    dtype = next(model.parameters()).dtype
    c_total, k = model.num_channels, model.num_classes
    classes = torch.zeros(noise.shape[0], c_total, height, width, dtype=torch.long, device=device)
    per_step = noise.transpose(0, 1).contiguous()  # (H·W·C, B, K): one contiguous block per step
    total = height * width * c_total if num_steps is None else num_steps
    # Each value's context noise at its own place (B, C, H, W); causality keeps
    # the noise of values not yet drawn out of every step's logits.
    read_noise = 0 if context is None else context.view(-1, height, width, c_total).permute(0, 3, 1, 2)
    steps = tqdm(total=total, desc="sampling", disable=not progress)
    step = 0
    for i in range(height):
        for j in range(width):
            for c in range(c_total):
                if step == total:
                    steps.close()
                    return classes
                x = (classes_to_unit(classes, k) + read_noise).to(dtype)
                logits = model(x) if cond is None else model(x, cond)
                step_logits = logits[:, :, c, i, j]
                drawn = draw(step_logits, temperature, per_step[step])
                if fixed is not None:
                    drawn = torch.where(fixed[:, c, i, j] >= 0, fixed[:, c, i, j], drawn)
                classes[:, c, i, j] = drawn
                if log_prob is not None:
                    log_prob += torch.log_softmax(step_logits.float(), 1).gather(
                        1, classes[:, c, i, j, None])[:, 0]
                step += 1
                steps.update()
    steps.close()
    return classes


def repeat_cond(cond, repeats: int):
    """A cond (a tensor, a dict of them, or None) with each row repeated ``repeats`` times, image-major."""
    if cond is None or repeats == 1:
        return cond
    if isinstance(cond, dict):
        return {key: value.repeat_interleave(repeats, dim=0) for key, value in cond.items()}
    return cond.repeat_interleave(repeats, dim=0)


def cond_rows(model, cond, batch_size: int) -> int:
    """How many distinct conds ``cond`` holds (G); each serves batch_size / G consecutive samples."""
    if cond is None or not hasattr(model, "split_cond"):
        return batch_size
    vector, cond_map = model.split_cond(cond)
    rows = (vector if vector is not None else cond_map).shape[0]
    if rows < 1 or batch_size % rows:
        raise ValueError(f"cond has {rows} rows; batch_size {batch_size} must be a multiple of them")
    return rows


def sample(
    model,
    batch_size: int,
    height: int,
    width: int,
    cond=None,
    temperature: float = 1.0,
    generator: Generators = None,
    method: str = "cached",
    progress: bool = False,
    log_prob: torch.Tensor | None = None,
    context_noise: float = 0.0,
    fixed: torch.Tensor | None = None,
    guidance: float = 1.0,
    null_cond=None,
    top_p: float = 1.0,
) -> torch.Tensor:
    """The one sampling entry point: classes (batch_size, C, height, width), long.

    ``cond``: what ``model(x, cond)`` takes, with batch size ``batch_size``, or
    with G rows, G dividing batch_size, each the cond of batch_size / G
    consecutive samples (the N samples of one image): the cached sampler then
    projects each distinct cond once (the naive one repeats it).
    ``generator``: seeds the draws, or a list of them, one per group of
    consecutive samples (:func:`draw_noise`); a CPU generator gives the same
    samples on any device. ``method``: one of :data:`SAMPLING_METHODS`. ``log_prob``: a
    (batch_size,) tensor to which each sample's log-likelihood under the
    model (nats, at temperature 1 whatever ``temperature`` drew it) is added.
    ``context_noise``: the standard deviation of the noise the model was
    trained with on its context (module docstring); 0 for none. ``fixed``:
    None, or classes (batch_size, C, height, width) with −1 where the value is
    free: a value ≥ 0 is taken instead of the draw (its noise is still used
    up, so the other values' draws do not move), and what comes after it in
    raster order is drawn given it, as an observed value; ``log_prob`` counts
    its probability too. ``guidance``: the scale s of classifier-free guidance
    (module docstring), 1 for none; ``null_cond`` is then the null conditioning,
    with as many rows as ``cond``; ``log_prob`` stays the conditional model's.
    ``top_p``: each value is drawn from its nucleus of this mass (1: the whole
    distribution).
    """
    if method not in SAMPLING_METHODS:
        raise ValueError(f"unknown sampling method {method!r}; available: {SAMPLING_METHODS}")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if not 0 < top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    if not 0 <= guidance <= MAX_GUIDANCE:  # also refuses NaN
        raise ValueError(f"guidance must be in [0, {MAX_GUIDANCE:g}], got {guidance}")
    if guidance != 1 and null_cond is None:
        raise ValueError("guidance needs the null conditioning of a model trained with it (null_cond)")
    if not context_noise >= 0:
        raise ValueError(f"context_noise must be >= 0, got {context_noise}")
    if batch_size < 1 or height < 1 or width < 1:
        raise ValueError(f"batch_size, height and width must be >= 1, got {(batch_size, height, width)}")
    if method == "cached" and not hasattr(model, "cached_sampler"):
        raise ValueError(
            f"{type(model).__name__} has no cached sampler (only the Gated PixelCNN has); "
            "use method='naive'"
        )
    rows = cond_rows(model, cond, batch_size)
    device = next(model.parameters()).device
    if fixed is not None and fixed.shape != (batch_size, model.num_channels, height, width):
        raise ValueError(f"fixed must be (batch_size, C, height, width) = "
                         f"{(batch_size, model.num_channels, height, width)}, got {tuple(fixed.shape)}")
    noise, context = draw_noise(batch_size, height * width * model.num_channels, model.num_classes,
                                generator, device, context_noise)
    draw = make_draw(temperature, top_p, guidance, batch_size)
    rows_log_prob = log_prob
    if guidance != 1:
        # The conditional half, then the null half, reading the same draws (and noise).
        if cond_rows(model, null_cond, batch_size) != rows:
            raise ValueError(f"null_cond must have as many rows as cond ({rows})")
        cond = concat_cond(cond, null_cond)
        noise, rows = torch.cat([noise, noise]), 2 * rows
        context = None if context is None else torch.cat([context, context])
        fixed = None if fixed is None else torch.cat([fixed, fixed])
        rows_log_prob = None if log_prob is None else log_prob.new_zeros(2 * batch_size)
    was_training = model.training
    model.eval()
    try:
        if method == "naive":
            classes = sample_naive(model, noise, height, width, repeat_cond(cond, noise.shape[0] // rows),
                                   temperature, progress, log_prob=rows_log_prob, context=context,
                                   fixed=fixed, draw=draw)
        else:
            classes = model.cached_sampler().sample(noise, height, width, cond, temperature, draw=draw,
                                                    progress=progress, log_prob=rows_log_prob,
                                                    context=context, fixed=fixed)
    finally:
        model.train(was_training)
    if guidance != 1 and log_prob is not None:
        log_prob += rows_log_prob[:batch_size]
    return classes[:batch_size]


def concat_cond(cond, other):
    """Two conds (tensors, or dicts of them with the same keys) stacked along the batch."""
    if isinstance(cond, dict):
        return {key: torch.cat([cond[key], other[key]]) for key in cond}
    return torch.cat([cond, other])
