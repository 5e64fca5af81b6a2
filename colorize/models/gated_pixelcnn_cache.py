"""Cached sampling for the Gated PixelCNN: each activation is computed once.

The idea is that of "Fast Generation for Convolutional Autoregressive
Models" (Ramachandran et al. 2017): a layer's output at a position never
changes once its inputs are known, so generation keeps, per layer, a cache of
the recent inputs that its next output reads, instead of running the whole
network over the whole image for each of the H·W·C values (the naive
sampler). That paper gives the queue algorithm (pop the oldest entry, push
the new one) for Wavenet's dilated 1-D convolutions and applies caching to
PixelCNN++; it does not treat the two-stack Gated PixelCNN of "Conditional
Image Generation with PixelCNN Decoders" (van den Oord et al. 2016). The
layout of the caches below, one row cache and one column cache per layer,
the vertical stack computed once per row and its down-shifted term stored per
column, is this project's own.

| what | source | here |
|---|---|---|
| cache the hidden states a layer's next output reads, rather than recompute them | Ramachandran et al. 2017 | the whole module |
| gated activation tanh(W_f∗x) ⊙ σ(W_g∗x), Eq. 2 | van den Oord et al. 2016, Sec. 2.1 | ``gate_order`` + ``F.glu`` |
| vertical and horizontal stacks, no blind spot; the vertical stack's output, shifted down one row, feeds the horizontal stack through a 1×1 convolution | van den Oord et al. 2016, Sec. 2.2, Fig. 2 | ``v_to_h`` of :mod:`colorize.models.gated_pixelcnn` |
| the residual connection of the horizontal stack | van den Oord et al. 2016, Fig. 2 | the carried stream; ``fold_residual_biases`` (ours) |
| conditioning V·h (here a map, upsampled to H×W) added inside every layer's gate, Eq. 4–5 | van den Oord et al. 2016, Sec. 2.3 | ``condition_terms``: one fused matmul, once per image for all its samples (ours) |
| values drawn in raster order (Sec. 2.1), channel c of a pixel after channels < c by masks A and B (Sec. 3.4) | "Pixel Recurrent Neural Networks" (van den Oord et al. 2016) | ``draw_pixel`` in :meth:`CachedGatedSampler.sample` |
| a row cache: the last kh = ⌈n/2⌉ input rows of each layer, zero-padded as the naive forward pads them | ours | ``LayerCache.vertical``, filled by ``LayerCache.finish_row`` |
| a column cache: the current row's last p = ⌊n/2⌋ input columns of each layer | ours | ``LayerCache.columns``, moved on by ``LayerCache.step_pixel`` |
| the vertical stack's contribution to row i + 1, one (B, 2k) term per column, computed once when row i is finished | ours | ``LayerCache.above`` |

At the C steps of one pixel the whole pixel is recomputed with the channels
known so far; channel group c only depends on channels < c (mask A) and ≤ c
(mask B), so the group read at step c is already exact, and after the last
step the cached pixel equals the naive network's. Per value that costs one
pixel of the horizontal stack and the output head, instead of a full forward
pass over H·W pixels.

Three layout tricks, each a named helper below, keep the per-value work to
about 40 small operations (at small N their dispatch, not arithmetic, sets the
time; see ``python -m benchmarks.sampling``):

* ``gate_order``: the horizontal pre-activation's columns are reordered from
  C blocks [f_c | g_c] to [all f | all g], so the gate is one ``F.glu`` after
  an in-place tanh of the f half.
* ``fold_residual_biases``: the residual stream is carried without the
  ``h_out`` biases, which are constants, folded into what reads the stream.
* Layer 0 reads the image itself, at the current pixel only the channels
  drawn so far (mask A): each drawn value adds a rank-1 term (``torch.addr``)
  to its pre-activation instead of a matmul over the whole pixel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from colorize.color import classes_to_unit
from colorize.nn.resize import resize_cond_map
from colorize.sampling import sample_from_logits
from colorize.threads import torch_threads


def gate_order(hidden: int, num_groups: int) -> torch.Tensor:
    """Indices that turn C blocks of [f_c | g_c] into [f_0 … f_{C-1} | g_0 … g_{C-1}].

    After this reordering ``tanh(pre[:, :k]) * sigmoid(pre[:, k:])`` is exactly
    :func:`gated_activation` with ``num_groups`` groups, in two slices.
    """
    block, half = 2 * hidden // num_groups, hidden // num_groups
    starts = torch.arange(num_groups) * block
    f = (starts[:, None] + torch.arange(half)).flatten()
    return torch.cat([f, f + half])


def masked_weight(conv: torch.nn.Conv2d) -> torch.Tensor:
    """The weight a (masked) convolution really applies."""
    mask = getattr(conv, "mask", None)
    return conv.weight if mask is None else conv.weight * mask


@dataclass
class CachedLayer:
    """One gated layer's weights, laid out for row- and pixel-sized steps.

    v_weight (in·kh·kw, 2k), v_bias (2k,): the vertical convolution as a
      matmul on unfolded rows; kh = n // 2 + 1 rows, kw = n columns.
    left_weight (p·in, 2k), centre_weight (in, 2k): the horizontal taps
      j-p … j-1 and j, channels last, output columns in gate order; p = n // 2.
    row_weight (2k, 2k), row_bias (2k,): ``v_to_h`` as a matmul on channels-last
      rows, output in gate order; row_bias also holds the h_conv bias.
    out_weight (k, k), out_bias (k,): the 1×1 mask-B ``h_out``.
    """

    v_weight: torch.Tensor
    v_bias: torch.Tensor
    left_weight: torch.Tensor
    centre_weight: torch.Tensor
    row_weight: torch.Tensor
    row_bias: torch.Tensor
    out_weight: torch.Tensor
    out_bias: torch.Tensor
    in_channels: int
    hidden: int
    kernel: tuple[int, int]  # (kh, kw) of the vertical convolution
    left: int  # p: columns left of the current one that the horizontal taps read

    @classmethod
    def from_layer(cls, layer, num_groups: int) -> CachedLayer:
        hidden = layer.h_out.out_channels
        order = gate_order(hidden, num_groups)
        in_channels = layer.v_conv.in_channels
        left = layer.h_conv.kernel_size[1] // 2
        taps = masked_weight(layer.h_conv)[:, :, 0, : left + 1]  # (2k, in, p + 1): right taps are shut
        h_weight = taps.permute(2, 1, 0).reshape((left + 1) * in_channels, 2 * hidden)[:, order].detach()
        return cls(
            v_weight=layer.v_conv.weight.flatten(1).t().detach().contiguous(),
            v_bias=layer.v_conv.bias.detach(),
            left_weight=h_weight[:-in_channels].contiguous(),
            centre_weight=h_weight[-in_channels:].contiguous(),
            row_weight=layer.v_to_h.weight[:, :, 0, 0].t()[:, order].detach().contiguous(),
            row_bias=(layer.v_to_h.bias + layer.h_conv.bias)[order].detach(),
            out_weight=masked_weight(layer.h_out)[:, :, 0, 0].t().detach().contiguous(),
            out_bias=layer.h_out.bias.detach(),
            in_channels=in_channels,
            hidden=hidden,
            kernel=tuple(layer.v_conv.kernel_size),
            left=left,
        )


def fused_condition_projections(model, layers: list[CachedLayer]) -> dict[str, tuple]:
    """Every layer's V of Sec. 2.3 side by side, so that all are one matmul per image.

    Returns {"vector" and/or "map": (weight (D, Σ 4k), bias (Σ 4k,))}, the
    columns per layer [vertical 2k | horizontal 2k in gate order].
    """
    columns = torch.cat([
        torch.cat([torch.arange(2 * layer.hidden),
                   2 * layer.hidden + gate_order(layer.hidden, model.config.num_channels)])
        + index * 4 * layer.hidden
        for index, layer in enumerate(layers)
    ])
    fused = {}
    for key in ("vector", "map"):
        projections = [getattr(layer.cond_proj, key) if layer.cond_proj is not None else None
                       for layer in model.layers]
        if projections[0] is not None:
            weight = torch.cat([p.weight.reshape(p.weight.shape[0], -1) for p in projections]).t()
            bias = torch.cat([p.bias for p in projections])
            fused[key] = (weight[:, columns].detach().contiguous(), bias[columns].detach())
    return fused


@dataclass
class FoldedBiases:
    """The biases of the horizontal residual stream, moved out of the stream.

    The stream h̃ is carried without the sum B_l of the ``h_out`` biases below
    layer l, a constant. What reads the stream gets it back:
    ``row_bias[l]`` (the taps of layer l on B_l, at the current and left
    columns), ``pad_columns[l]`` (left padding: 0 in the true stream is −B_l
    in the carried one), and the head through
    relu(relu(h̃ + B) @ W + b) = relu(max(h̃, −B) @ W + (b + B @ W)), since
    relu(h̃ + B) = max(h̃, −B) + B — that is ``head_floor`` = −B and
    ``head_bias`` = b + B @ W (W, b: the head's first 1×1 convolution). One
    addition fewer per layer and value.
    """

    row_bias: list[torch.Tensor]
    pad_columns: list[torch.Tensor]
    head_floor: torch.Tensor
    head_bias: torch.Tensor


def add_per_group(x: torch.Tensor, term: torch.Tensor) -> torch.Tensor:
    """x (W, B, n) + a conditioning term (W, G, n) whose row g serves samples g·B/G … (g+1)·B/G − 1."""
    width, batch_size, n = x.shape
    groups = term.shape[1]
    if groups == batch_size:
        return x + term
    return (x.view(width, groups, batch_size // groups, n) + term[:, :, None]).view(width, batch_size, n)


def fold_residual_biases(layers: list[CachedLayer], head_weight: torch.Tensor, head_bias: torch.Tensor,
                         num_channels: int) -> FoldedBiases:
    carried = torch.zeros_like(layers[0].out_bias)
    row_bias = [layers[0].row_bias]
    pad_columns = [torch.zeros_like(layers[0].left_weight[:num_channels, 0])]
    for below, layer in zip(layers[:-1], layers[1:]):
        carried = carried + below.out_bias
        row_bias.append(layer.row_bias + carried @ layer.centre_weight
                        + carried.repeat(layer.left) @ layer.left_weight)
        pad_columns.append(-carried)
    carried = carried + layers[-1].out_bias
    return FoldedBiases(row_bias, pad_columns, head_floor=-carried, head_bias=head_bias + carried @ head_weight)


class LayerCache:
    """One gated layer's caches while B samples are drawn (see the module's table).

    * ``vertical`` (B, in, kh, W + kw − 1): the layer's last kh input rows,
      zero-padded as the naive forward pads them (kh − 1 zero rows above,
      kw // 2 columns each side);
    * ``columns``: the current row's last p input columns, each (B, in),
      carried-stream padding at the row's start;
    * ``above``: per column j, (B, 2k) in gate order, all that the horizontal
      pre-activation at (i, j) gets from the rows above (the down-shifted
      vertical stack through ``v_to_h``), the conditioning and the folded biases.

    The conditioning terms have one row per distinct cond (G of them), added
    to each of its B / G samples (:func:`add_per_group`).
    """

    def __init__(self, layer: CachedLayer, row_bias: torch.Tensor, pad: torch.Tensor,
                 terms: tuple[torch.Tensor, torch.Tensor], batch_size: int, width: int):
        self.layer, self.row_bias = layer, row_bias
        self.pad = pad.expand(batch_size, -1)
        self.v_terms, self.h_terms = terms  # each (H, W, G, 2k)
        self.vertical = torch.zeros(batch_size, layer.in_channels, layer.kernel[0],
                                    width + layer.kernel[1] - 1, device=pad.device, dtype=pad.dtype)
        # Row 0's down-shifted input is zero, so v_to_h gives just its bias.
        first = row_bias + self.h_terms[0]  # (W, G, 2k)
        self.above = first.repeat_interleave(batch_size // first.shape[1], dim=1).unbind(0)
        self.columns: list[torch.Tensor] = []

    def start_row(self) -> None:
        self.columns = [self.pad] * self.layer.left

    def from_left_and_above(self, j: int) -> torch.Tensor:
        """(B, 2k): pixel j's horizontal pre-activation less its own current-pixel taps."""
        columns = self.columns
        if not columns:
            return self.above[j]
        left = columns[0] if len(columns) == 1 else torch.cat(columns, 1)
        return torch.addmm(self.above[j], left, self.layer.left_weight)

    def step_pixel(self, column: torch.Tensor) -> None:
        """Push the finished pixel's input column (B, in) into the row cache; pop the oldest."""
        if self.columns:
            self.columns.append(column)
            del self.columns[0]

    def finish_row(self, row: torch.Tensor, i: int) -> torch.Tensor:
        """Push finished row i of this layer's input (B, in, W); returns its output row (B, k, W).

        The vertical stack's row i is computed here, once, and its
        down-shifted term becomes ``above`` for row i + 1.
        """
        layer, cache = self.layer, self.vertical
        batch_size, width = row.shape[0], row.shape[2]
        cache[:, :, :-1] = cache[:, :, 1:].clone()
        kw, two_k = layer.kernel[1], 2 * layer.hidden
        cache[:, :, -1, kw // 2:kw // 2 + width] = row
        # The convolution as one matmul: (W·B, in·kh·kw) windows, column-major.
        windows = cache.unfold(3, kw, 1).permute(3, 0, 1, 2, 4).reshape(width * batch_size, -1)
        v_pre = torch.addmm(layer.v_bias, windows, layer.v_weight)  # (W·B, 2k)
        term = torch.mm(v_pre, layer.row_weight).view(width, batch_size, two_k)
        self.above = add_per_group(term + self.row_bias, self.h_terms[i + 1]).unbind(0)
        f, g = add_per_group(v_pre.view(width, batch_size, two_k), self.v_terms[i]).chunk(2, 2)
        return (torch.tanh(f) * torch.sigmoid(g)).permute(1, 2, 0)  # the next layer's input


class CachedGatedSampler:
    """Samples a :class:`~colorize.models.gated_pixelcnn.GatedPixelCNN` with caches.

    Built once per model (the weights are copied into the step layout; build a
    new one after the weights change). Same draws as the naive sampler: both
    take the Gumbel noise of :func:`colorize.sampling.draw_noise` in the same
    order, so with the same generator they give the same samples.
    """

    def __init__(self, model):
        self.model = model
        config = model.config
        self.num_channels, self.num_classes = config.num_channels, config.num_classes
        self.layers = [CachedLayer.from_layer(layer, config.num_channels) for layer in model.layers]
        first_out, last_out = model.output[1], model.output[3]
        self.head_weight = masked_weight(first_out)[:, :, 0, 0].t().detach().contiguous()
        self.folded = fold_residual_biases(self.layers, self.head_weight, first_out.bias.detach(),
                                           config.num_channels)
        # The last layer's output is C contiguous groups of K: step c needs only its own group.
        logits_weight = masked_weight(last_out)[:, :, 0, 0].t().detach()
        k = self.num_classes
        self.logits_weight = [logits_weight[:, c * k:(c + 1) * k].contiguous()
                              for c in range(self.num_channels)]
        self.logits_bias = [last_out.bias.detach()[c * k:(c + 1) * k] for c in range(self.num_channels)]
        self.cond_weights = fused_condition_projections(model, self.layers)
        # Class → model input in [-1, 1], as colorize.color.classes_to_unit computes it.
        self.levels = classes_to_unit(torch.arange(k, device=self.head_weight.device), k).to(
            self.head_weight.dtype)

    def condition_terms(self, cond, height: int, width: int):
        """Per layer: (vertical term, horizontal term in gate order), each (H, W, G, 2k), G the
        number of distinct conds (1 for an unconditional model: broadcast zeros).

        Every layer's V·h (Sec. 2.3), views of one matmul over all layers, on
        each distinct cond once, however many samples share it.
        """
        vector, cond_map = self.model.split_cond(cond)
        width_all = sum(4 * layer.hidden for layer in self.layers)
        device, dtype = self.head_weight.device, self.head_weight.dtype
        total = torch.zeros(1, 1, 1, width_all, device=device, dtype=dtype)
        groups = 1
        if cond_map is not None:
            groups = cond_map.shape[0]
            weight, bias = self.cond_weights["map"]
            channels_last = resize_cond_map(cond_map, height, width).permute(2, 3, 0, 1)  # (H, W, G, D)
            total = torch.addmm(bias, channels_last.reshape(-1, weight.shape[0]), weight)
            total = total.view(height, width, groups, width_all)
        if vector is not None:
            groups = vector.shape[0]
            weight, bias = self.cond_weights["vector"]
            total = total + torch.addmm(bias, vector, weight)  # (G, ·), broadcast over H, W
        total = total.expand(height, width, groups, width_all)
        terms, start = [], 0
        for layer in self.layers:
            two_k = 2 * layer.hidden
            terms.append((total[..., start:start + two_k], total[..., start + two_k:start + 2 * two_k]))
            start += 2 * two_k
        return terms

    @torch.no_grad()
    def sample(
        self,
        noise: torch.Tensor,
        height: int,
        width: int,
        cond=None,
        temperature: float = 1.0,
        draw: Callable = sample_from_logits,
        progress: bool = False,
        log_prob: torch.Tensor | None = None,
        context: torch.Tensor | None = None,
        fixed: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Gumbel noise (B, H·W·C, K) → classes (B, C, H, W).

        ``draw(logits (B, K), temperature, noise (B, K)) → classes (B,)`` turns
        one step's logits into classes, step after step in raster and channel
        order (:func:`colorize.sampling.sample_from_logits`). ``log_prob``, a
        (B,) float64 tensor, gets each drawn value's log-probability added, in
        nats, under the model's own distribution (temperature 1, whatever
        temperature drew it): the exact log-likelihood of the sample, with no
        second pass. ``context`` (B, H·W·C): noise added to each drawn value
        where the layers read it (:func:`colorize.sampling.draw_noise`).
        ``cond``: B rows, or G rows each shared by B / G consecutive samples.
        ``fixed`` (B, C, H, W): −1, or the value to take instead of the draw
        (:func:`colorize.sampling.sample`).

        The loop runs on one CPU thread: its few hundred thousand operations
        are a few microseconds each, and a second thread only adds a wait for
        it at each of them (10–100× slower when the machine is busy). The
        conditioning projection before it, one large matmul, keeps them all.
        """
        c_total, layers = self.num_channels, self.layers
        batch_size = noise.shape[0]
        step_noise = noise.transpose(0, 1).contiguous().unbind(0)  # one contiguous (B, K) per step
        step_context = None if context is None else context.transpose(0, 1).to(
            self.levels.dtype).contiguous().unbind(0)
        # Raster and channel order, as the values are drawn: one (B,) per step.
        step_fixed = None if fixed is None else fixed.permute(2, 3, 1, 0).reshape(-1, batch_size).unbind(0)
        terms = self.condition_terms(cond, height, width)
        if batch_size % terms[0][0].shape[2]:
            raise ValueError(f"batch_size {batch_size} must be a multiple of the {terms[0][0].shape[2]} conds")
        caches = [LayerCache(layer, row_bias, pad, layer_terms, batch_size, width)
                  for layer, row_bias, pad, layer_terms in zip(
                      layers, self.folded.row_bias, self.folded.pad_columns, terms)]
        # Hoisted out of the loops: the inner loop runs H·W·C times, so each
        # attribute lookup there costs as much as a small matmul.
        addmm, mm, addr, tanh, sigmoid, relu, glu, maximum, log_softmax = (
            torch.addmm, torch.mm, torch.addr, torch.tanh, torch.sigmoid, torch.relu, F.glu, torch.maximum,
            torch.log_softmax)
        first_out = layers[0].out_weight
        first_centre = layers[0].centre_weight.unbind(0)  # (2k,) per input channel
        rest = [(layer.centre_weight, layer.out_weight, layer.hidden) for layer in layers[1:]]
        head_weight, head_bias, head_floor = self.head_weight, self.folded.head_bias, self.folded.head_floor
        logits_weight, logits_bias, levels = self.logits_weight, self.logits_bias, self.levels
        values: list[torch.Tensor] = []

        def draw_pixel(partial: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
            """The C values of one pixel, from each layer's ``from_left_and_above``.

            Returns the pixel's input column (B, C) and every layer's output
            (B, k) at its last step, where all its channels are known: what
            enters the next layers' row caches.
            """
            first_pre, pixel = partial[0], []
            for c in range(c_total):
                f, g = first_pre.chunk(2, 1)
                h = mm(tanh(f) * sigmoid(g), first_out)  # the carried stream, biases folded
                outputs = [h]
                for index, (centre_weight, out_weight, hidden) in enumerate(rest, 1):
                    pre = addmm(partial[index], h, centre_weight)
                    pre.narrow(1, 0, hidden).tanh_()  # in place: pre is this step's own
                    h = addmm(h, glu(pre, 1), out_weight)  # glu: tanh(f) ⊙ σ(g); + the residual
                    outputs.append(h)
                hidden_units = relu(addmm(head_bias, maximum(h, head_floor), head_weight))
                logits = addmm(logits_bias[c], hidden_units, logits_weight[c])
                value = draw(logits, temperature, step_noise[len(values)])
                if step_fixed is not None:
                    given = step_fixed[len(values)]
                    value = torch.where(given >= 0, given, value)
                values.append(value)
                if log_prob is not None:
                    log_prob.add_(log_softmax(logits.float(), 1).gather(1, value[:, None])[:, 0])
                unit = levels.index_select(0, value)
                if step_context is not None:  # the drawn value as a model trained on noisy context reads it
                    unit = unit + step_context[len(values) - 1]
                pixel.append(unit)
                if c + 1 < c_total:  # layer 0's rank-1 update with the value just drawn
                    first_pre = addr(first_pre, unit, first_centre[c])
            return torch.stack(pixel, 1), outputs

        steps = tqdm(total=height * width * c_total, desc="sampling", disable=not progress)
        with torch_threads(1 if noise.device.type == "cpu" else None):
            for i in range(height):
                for cache in caches:
                    cache.start_row()
                x_columns = []
                for j in range(width):
                    x_column, outputs = draw_pixel([cache.from_left_and_above(j) for cache in caches])
                    x_columns.append(x_column)
                    # Layer l + 1 reads layer l's output; layer 0 reads the image.
                    for cache, column in zip(caches, [x_column] + outputs[:-1]):
                        cache.step_pixel(column)
                steps.update(width * c_total)
                if i + 1 == height:
                    break  # nothing reads the vertical stack of the last row
                row = torch.stack(x_columns, 2)  # (B, C, W)
                for cache in caches:
                    row = cache.finish_row(row, i)
        steps.close()
        classes = torch.stack(values, 1).view(batch_size, height, width, c_total)
        return classes.permute(0, 3, 1, 2).contiguous()


def cached_multiply_adds(config, batch_size: int, height: int, width: int) -> int:
    """The multiply-adds :class:`CachedGatedSampler` performs for one batch: its compute floor.

    Counted from the step structure above: the conditioning projections once,
    the vertical stack and its ``v_to_h`` per row (all rows but the last,
    which nothing reads), the left horizontal taps per pixel, and per value
    the current-pixel taps, ``h_out`` and the head (one channel's K logits).
    """
    c, k, n = config.num_channels, config.hidden, config.num_classes
    pixels, values = height * width, height * width * c
    total = 0
    for index in range(config.num_layers):
        kernel = config.first_kernel if index == 0 else config.kernel
        in_channels = c if index == 0 else k
        kh, p = kernel // 2 + 1, kernel // 2
        total += config.cond_map_channels * 4 * k * pixels + config.cond_channels * 4 * k
        total += (height - 1) * width * (in_channels * kh * kernel * 2 * k + 2 * k * 2 * k)
        total += pixels * p * in_channels * 2 * k
        # Layer 0 adds each drawn channel but the pixel's last (torch.addr); later layers one matmul.
        centre = (c - 1) * pixels * 2 * k if index == 0 else values * in_channels * 2 * k
        total += centre + values * k * k
    total += values * (k * config.output_hidden + config.output_hidden * n)
    return batch_size * total
