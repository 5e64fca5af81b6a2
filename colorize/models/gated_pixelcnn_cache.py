"""Cached sampling for the Gated PixelCNN: each activation is computed once.

"Fast Generation for Convolutional Autoregressive Models" (Ramachandran et
al. 2017), applied to the two stacks of "Conditional Image Generation with
PixelCNN Decoders" (van den Oord et al. 2016, Sec. 2.1–2.3).

The naive sampler runs the whole network over the whole image for each of the
H·W·C values. But a layer's output at (i, j) never changes once its inputs
are known, so:

* **the conditioning** (V·h of every layer, both stacks) is computed once per
  image, before the first step;
* **the vertical stack** is computed once per row: when row i is complete,
  each layer's ⌈n/2⌉×n convolution reads a rolling cache of that layer's last
  ⌈n/2⌉ input rows and gives the row's pre-activation. The horizontal stack
  reads it one row later (the down-shift), so it is folded, through the 1×1
  ``v_to_h``, into a per-row term;
* **the horizontal stack** is computed once per value, at one pixel: each
  layer keeps a row cache of its input, and its masked 1×⌈n/2⌉ convolution
  is one matmul over the last ⌈n/2⌉ columns of that cache.

At the C steps of one pixel the whole pixel is recomputed with the channels
known so far; channel group c only depends on channels < c (mask A) and ≤ c
(mask B), so the group read at step c is already exact, and after the last
step the cached pixel equals the naive network's. Per value that costs one
pixel of the horizontal stack and the output head, instead of a full forward
pass over H·W pixels.

The weights are re-laid out once (masks applied, channels last, the
horizontal pre-activation's columns reordered to [all f | all g]) so that each
step is a few small matmuls over the N samples as one batch. All layers'
conditioning projections are one fused matmul; the vertical convolution is a
matmul over unfolded rows; the residual stream's biases are folded into the
layers that read it. Per value, what is left is about 40 small operations,
each a few microseconds of dispatch on a CPU: at small N that overhead, not
arithmetic, sets the time (see ``python -m benchmarks.sampling``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from colorize.color import classes_to_unit
from colorize.models.gated_pixelcnn import resize_cond_map
from colorize.sampling import sample_from_logits


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
        # The horizontal stack's residual stream is carried without its biases:
        # the sum B of the h_out biases below a layer is a constant, so it is
        # folded into what reads the stream (the next layer's taps, through its
        # per-row term, and the head), one addition fewer per layer and value.
        # Left padding, 0 in the true stream, is -B in the carried one.
        carried = torch.zeros_like(self.layers[0].out_bias)
        self.row_bias = [self.layers[0].row_bias]
        self.pad_columns = [torch.zeros_like(self.layers[0].left_weight[:config.num_channels, 0])]
        for below, layer in zip(self.layers[:-1], self.layers[1:]):
            carried = carried + below.out_bias
            self.row_bias.append(layer.row_bias + carried @ layer.centre_weight
                                 + carried.repeat(layer.left) @ layer.left_weight)
            self.pad_columns.append(-carried)
        carried = carried + self.layers[-1].out_bias
        # relu(h̃ + B) @ W + b = max(h̃, -B) @ W + (b + B @ W).
        self.head_floor = -carried
        self.head_bias = first_out.bias.detach() + carried @ self.head_weight
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

    def biases(self, cond, batch_size: int, height: int, width: int):
        """Per layer: (vertical bias, horizontal bias in gate order), each (H, W, B, 2k).

        Views of one matmul over all layers; broadcast zeros for an
        unconditional model.
        """
        vector, cond_map = self.model.split_cond(cond, batch_size)
        width_all = sum(4 * layer.hidden for layer in self.layers)
        device, dtype = self.head_weight.device, self.head_weight.dtype
        total = torch.zeros(1, 1, 1, width_all, device=device, dtype=dtype)
        if cond_map is not None:
            weight, bias = self.cond_weights["map"]
            channels_last = resize_cond_map(cond_map, height, width).permute(2, 3, 0, 1)  # (H, W, B, D)
            total = torch.addmm(bias, channels_last.reshape(-1, weight.shape[0]), weight)
            total = total.view(height, width, batch_size, width_all)
        if vector is not None:
            weight, bias = self.cond_weights["vector"]
            total = total + torch.addmm(bias, vector, weight)  # (B, ·), broadcast over H, W
        total = total.expand(height, width, batch_size, width_all)
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
        logits_out: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Gumbel noise (B, H·W·C, K) → classes (B, C, H, W).

        ``draw(logits (B, K), temperature, noise (B, K)) → classes (B,)`` turns
        one step's logits into classes (:func:`colorize.sampling.sample_from_logits`).
        ``logits_out``, if given, (B, K, C, H, W), receives every step's logits,
        for the tests that compare them with a full forward pass.
        """
        c_total, layers = self.num_channels, self.layers
        batch_size = noise.shape[0]
        device, dtype = self.head_weight.device, self.head_weight.dtype
        step_noise = noise.transpose(0, 1).contiguous().unbind(0)  # one contiguous (B, K) per step
        # Hoisted out of the loops: the inner loop runs H·W·C times, so each
        # attribute lookup there costs as much as a small matmul.
        addmm, mm, tanh, sigmoid, relu, glu = torch.addmm, torch.mm, torch.tanh, torch.sigmoid, torch.relu, F.glu
        first, rest = layers[0], [(layer.centre_weight, layer.out_weight, layer.hidden) for layer in layers[1:]]
        first_centre = first.centre_weight.unbind(0)  # (2k,) per input channel
        head_weight, head_bias, head_floor = self.head_weight, self.head_bias, self.head_floor
        logits_weight, logits_bias, levels = self.logits_weight, self.logits_bias, self.levels
        pads = [pad.expand(batch_size, -1) for pad in self.pad_columns]

        # 1. Conditioning: every layer's V·h, once per image (Sec. 2.3).
        terms = self.biases(cond, batch_size, height, width)

        # 2. The vertical stack's caches: each layer's last kh input rows,
        #    zero-padded as the naive forward pads them (kh - 1 zero rows
        #    above, kw // 2 columns each side).
        v_cache = [torch.zeros(batch_size, layer.in_channels, layer.kernel[0],
                               width + layer.kernel[1] - 1, device=device, dtype=dtype)
                   for layer in layers]
        # The horizontal stack's term from the rows above, per layer, one
        # (B, 2k) per column. Row 0's down-shifted input is zero, so v_to_h gives its bias.
        h_rows = [(row_bias + h_bias[0]).unbind(0) for row_bias, (_, h_bias) in zip(self.row_bias, terms)]

        values = []
        steps = tqdm(total=height * width * c_total, desc="sampling", disable=not progress)
        for i in range(height):
            # The horizontal caches: each layer's last p input columns of this row.
            left_columns = [[pad] * layer.left for layer, pad in zip(layers, pads)]
            x_columns = []
            for j in range(width):
                # 3. What the pixel's horizontal pre-activations get from the
                #    left columns and the rows above: once per pixel.
                partial = [
                    addmm(h_rows[index][j], columns[0] if len(columns) == 1 else torch.cat(columns, 1),
                          layer.left_weight) if columns else h_rows[index][j]
                    for index, (layer, columns) in enumerate(zip(layers, left_columns))
                ]
                # 4. The pixel's C channels in turn: the current pixel's taps,
                #    the gates and the head. Layer 0 reads the pixel's own
                #    known channels, added one by one as they are drawn.
                first_pre = partial[0]
                pixel = []
                for c in range(c_total):
                    f, g = first_pre.chunk(2, 1)
                    h = mm(tanh(f) * sigmoid(g), first.out_weight)  # the carried stream, biases folded
                    inputs = [h]
                    for index, (centre_weight, out_weight, hidden) in enumerate(rest, 1):
                        pre = addmm(partial[index], h, centre_weight)
                        pre.narrow(1, 0, hidden).tanh_()  # in place: pre is this step's own
                        h = addmm(h, glu(pre, 1), out_weight)  # glu: tanh(f) ⊙ σ(g); + the residual
                        inputs.append(h)
                    hidden_units = relu(addmm(head_bias, torch.maximum(h, head_floor), head_weight))
                    logits = addmm(logits_bias[c], hidden_units, logits_weight[c])
                    if logits_out is not None:
                        logits_out[:, :, c, i, j] = logits
                    value = draw(logits, temperature, step_noise[len(values)])
                    values.append(value)
                    unit = levels.index_select(0, value)
                    pixel.append(unit)
                    if c + 1 < c_total:
                        first_pre = torch.addr(first_pre, unit, first_centre[c])
                # The pixel is complete: its column enters every layer's left cache.
                x_column = torch.stack(pixel, 1)  # (B, C)
                x_columns.append(x_column)
                for columns, column in zip(left_columns, [x_column] + inputs[:-1]):
                    if columns:
                        columns.append(column)
                        del columns[0]
            steps.update(width * c_total)
            if i + 1 == height:
                break
            # 5. Row i is complete: the vertical stack's row i, once, for every layer.
            row = torch.stack(x_columns, 2)  # (B, C, W)
            for index, (layer, (v_bias, h_bias)) in enumerate(zip(layers, terms)):
                cache = v_cache[index]
                cache[:, :, :-1] = cache[:, :, 1:].clone()
                kw, two_k = layer.kernel[1], 2 * layer.hidden
                cache[:, :, -1, kw // 2:kw // 2 + width] = row
                # The convolution as one matmul: (W·B, in·kh·kw) windows, column-major.
                windows = cache.unfold(3, kw, 1).permute(3, 0, 1, 2, 4).reshape(width * batch_size, -1)
                v_pre = addmm(layer.v_bias, windows, layer.v_weight)  # (W·B, 2k)
                # Row i + 1 of the horizontal stack reads this row through the down-shift.
                term = mm(v_pre, layer.row_weight).view(width, batch_size, two_k)
                h_rows[index] = (term + self.row_bias[index] + h_bias[i + 1]).unbind(0)
                f, g = (v_pre.view(width, batch_size, two_k) + v_bias[i]).chunk(2, 2)
                row = (tanh(f) * sigmoid(g)).permute(1, 2, 0)  # (B, k, W), the next layer's input
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
