"""Gated PixelCNN, unconditional or conditioned on a vector and/or a spatial map.

"Conditional Image Generation with PixelCNN Decoders" (van den Oord et al.
2016). Sec. 2.1, Eq. 2: every layer is gated, tanh(W_f * x) ⊙ σ(W_g * x).
Sec. 2.2 and Fig. 2: two stacks remove the blind spot of masked PixelCNNs — a
vertical stack over all rows above and a horizontal stack over the current
row's left part; the vertical stack feeds the horizontal one through a 1×1
convolution of its pre-activation; the horizontal stack has a 1×1
convolution and a residual connection. Sec. 2.3, Eq. 4–5: conditioning adds
V_f·h and V_g·h to the pre-activations of every layer; for a spatial map
s = m(h) the V's are 1×1 convolutions.

Colour channels within a pixel are ordered as in PixelRNN (R→G→B, or a→b):
the horizontal stack uses :class:`MaskedConv2d` channel-group masks (A in the
first layer, B after) and gates per group; the vertical stack needs no channel
masks because only its down-shifted copy (rows strictly above) reaches the
horizontal stack.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from colorize.models.base import AutoregressiveModel
from colorize.models.gated_pixelcnn_cache import CachedGatedSampler
from colorize.models.registry import register_model
from colorize.nn import MaskedConv2d, down_shift, gated_activation, pad_above, pad_left_right
from colorize.nn.resize import resize_cond_map
from colorize.nn.output_head import check_divisible, output_head, to_logits

# A per-layer conditioning bias: (vertical, horizontal), each (B, 2k, H, W) or (B, 2k, 1, 1).
LayerBias = tuple[torch.Tensor, torch.Tensor]
# What forward(x, cond) accepts; see GatedPixelCNN.
Cond = torch.Tensor | dict[str, torch.Tensor] | None


@dataclass
class GatedPixelCNNConfig:
    num_channels: int = 3
    num_classes: int = 256
    hidden: int = 48  # k: features per stack (pre-activations 2k); divisible by num_channels
    num_layers: int = 6  # gated layers, the first included
    first_kernel: int = 7  # n of the first layer: vertical ⌈n/2⌉×n, horizontal 1×⌈n/2⌉
    kernel: int = 3  # n of the later layers
    output_hidden: int = 96  # width of the 1×1 output layer; divisible by num_channels
    cond_channels: int = 0  # D of a global conditioning vector (B, D); 0 = none
    cond_map_channels: int = 0  # D of a spatial conditioning map (B, D, h, w); 0 = none


PRESETS = {
    # 5 layers: the horizontal stack reaches 3 + 4 = 7 pixels left, a whole 8-wide row (tests).
    "tiny": dict(hidden=12, num_layers=5, output_hidden=24),
    "small": dict(hidden=48, num_layers=6, output_hidden=96),
    "medium": dict(hidden=72, num_layers=8, output_hidden=144),
    "base": dict(hidden=126, num_layers=12, output_hidden=252),
}


class ConditionProjection(nn.Module):
    """Sec. 2.3: V·h for both stacks of one layer: (vector, map) → (v_bias, h_bias).

    vector (B, D) goes through a Linear, map (B, D', H, W) through a 1×1
    convolution, each to 4k = [vertical 2k | horizontal 2k] channels.
    """

    def __init__(self, hidden: int, cond_channels: int, cond_map_channels: int):
        super().__init__()
        self.vector = nn.Linear(cond_channels, 4 * hidden) if cond_channels else None
        self.map = nn.Conv2d(cond_map_channels, 4 * hidden, 1) if cond_map_channels else None

    def forward(self, vector: torch.Tensor | None, cond_map: torch.Tensor | None) -> LayerBias:
        bias = 0
        if self.vector is not None:
            bias = bias + self.vector(vector)[:, :, None, None]
        if self.map is not None:
            bias = bias + self.map(cond_map)
        return bias.chunk(2, dim=1)


class GatedLayer(nn.Module):
    """One layer of both stacks (Fig. 2): (v, h) → (v', h').

    v, h: (B, in, H, W) with in = C in the first layer (the image) and k after.
    v': (B, k, H, W), depends on rows ≤ i only. h': (B, k, H, W), causal in
    raster and channel order. bias: this layer's entry of
    :meth:`GatedPixelCNN.condition_bias`, or None.

    The horizontal pre-activation (h_conv, v_to_h and h_bias alike) is laid out
    in C colour-group blocks, each [f_c | g_c], the layout that
    :func:`gated_activation` with colour groups expects; the vertical one is [f | g].
    """

    def __init__(
        self, in_channels: int, hidden: int, kernel: int, first: bool, config: GatedPixelCNNConfig
    ):
        super().__init__()
        if kernel % 2 == 0:
            raise ValueError(f"gated layers need odd kernel sizes, got {kernel}")
        c, k = config.num_channels, hidden
        self.first, self.num_groups = first, c
        self.v_kernel = (kernel // 2 + 1, kernel)  # ⌈n/2⌉ × n: the current row and those above
        self.v_conv = nn.Conv2d(in_channels, 2 * k, self.v_kernel)
        # 1 × n masked: only the centre and the n//2 taps left of it are open, i.e. 1 × ⌈n/2⌉.
        self.h_conv = MaskedConv2d(in_channels, 2 * k, (1, kernel), "A" if first else "B", c)
        self.v_to_h = nn.Conv2d(2 * k, 2 * k, 1)
        self.h_out = MaskedConv2d(k, k, 1, "B", c)
        self.cond_proj = (
            ConditionProjection(k, config.cond_channels, config.cond_map_channels)
            if config.cond_channels or config.cond_map_channels else None
        )

    def forward(self, v: torch.Tensor, h: torch.Tensor, bias: LayerBias | None = None):
        kh, kw = self.v_kernel
        # Zero rows only above and no 'same' padding below: output row i reads
        # rows i-kh+1 .. i, never a later row, so v stays "rows ≤ i".
        v_pre = self.v_conv(pad_left_right(pad_above(v, kh - 1), kw // 2, kw // 2))
        # v at row i has seen row i, including pixels right of (i, j) and (i, j)
        # itself; shifted down one row it holds only rows < i, which the
        # horizontal stack may read at every channel of every column.
        h_pre = self.h_conv(h) + self.v_to_h(down_shift(v_pre))
        if bias is not None:
            v_pre, h_pre = v_pre + bias[0], h_pre + bias[1]
        v_next = gated_activation(v_pre)  # no channel groups: never read at the current row
        # Gate within each colour group: a plain [f | g] split would gate an early
        # group's f with a later group's g and leak the current pixel's later channels.
        h_next = self.h_out(gated_activation(h_pre, self.num_groups))
        # The first layer's input is the raw image, so it has no residual.
        return v_next, (h_next if self.first else h + h_next)


@register_model("gated_pixelcnn", GatedPixelCNNConfig, PRESETS)
class GatedPixelCNN(AutoregressiveModel):
    """x (B, C, H, W) in [-1, 1], optional cond → logits (B, K, C, H, W).

    Conditioning (Sec. 2.3), given to ``forward(x, cond)``:

    * only ``cond_channels`` > 0: a vector (B, cond_channels), e.g. a class embedding;
    * only ``cond_map_channels`` > 0: a map (B, cond_map_channels, h, w), e.g.
      features of the gray image; resized bilinearly (align_corners=False) to
      H×W unless it already is H×W;
    * both: a dict ``{"vector": (B, D), "map": (B, D', h, w)}``. A dict with
      just the configured key is also accepted in the single-input cases.

    The conditioning is a separate input, seen at every position; it does not
    touch causality in x. A missing, unexpected or misshapen cond is a ValueError.

    The interface the cached sampler reads (:mod:`colorize.models.gated_pixelcnn_cache`,
    which imports nothing of this module): ``config``; ``layers``, each
    with ``v_conv`` (the vertical k×n convolution), ``h_conv`` (the masked
    1×n horizontal one), ``v_to_h`` (1×1), ``h_out`` (1×1, mask B) and
    ``cond_proj`` (None, or its ``vector`` and ``map`` projections); ``output``,
    the head of :func:`colorize.nn.output_head.output_head` (ReLU, 1×1 mask B,
    ReLU, 1×1 mask B to C·K); and ``split_cond``. A change to any of them
    must keep ``tests/test_cached_sampling.py`` (cached equals naive) passing.
    """

    def __init__(self, config: GatedPixelCNNConfig):
        super().__init__()
        self.config = config
        c = config.num_channels
        check_divisible(c, hidden=config.hidden, output_hidden=config.output_hidden)
        if config.num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {config.num_layers}")
        self.layers = nn.ModuleList(
            GatedLayer(
                c if index == 0 else config.hidden, config.hidden,
                config.first_kernel if index == 0 else config.kernel, index == 0, config,
            )
            for index in range(config.num_layers)
        )
        self.output = output_head(config.hidden, config.output_hidden, c, config.num_classes)

    @property
    def is_conditional(self) -> bool:
        return bool(self.config.cond_channels or self.config.cond_map_channels)

    def split_cond(
        self, cond: Cond, batch_size: int | None = None
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Validate ``cond`` (see the class docstring) → (vector or None, map or None).

        ``batch_size``: the B that every cond tensor must have; None takes it
        from the first one (the vector and the map must still agree).
        """
        cfg = self.config
        if not self.is_conditional:
            if cond is not None:
                raise ValueError(
                    "this gated_pixelcnn is unconditional "
                    "(cond_channels = cond_map_channels = 0) but got a cond"
                )
            return None, None
        sizes = {"vector": cfg.cond_channels, "map": cfg.cond_map_channels}
        want = [key for key, n in sizes.items() if n]
        if cond is None:
            raise ValueError(f"this gated_pixelcnn is conditional: cond {want} is missing")
        if isinstance(cond, torch.Tensor):
            if len(want) == 2:
                raise ValueError(
                    'a vector and a map are configured: pass cond={"vector": ..., "map": ...}'
                )
            cond = {want[0]: cond}
        if not isinstance(cond, dict) or sorted(cond) != sorted(want):
            got = sorted(cond) if isinstance(cond, dict) else type(cond).__name__
            raise ValueError(f"cond must give exactly {want}, got {got}")
        for key in want:
            value = cond[key]
            ndim, dims = (2, "(B, D)") if key == "vector" else (4, "(B, D, h, w)")
            if not isinstance(value, torch.Tensor):
                raise ValueError(f"cond {key} must be a tensor, got {type(value).__name__}")
            if value.dim() != ndim or value.shape[1] != sizes[key]:
                raise ValueError(
                    f"cond {key} must be {dims} with D={sizes[key]}, got {tuple(value.shape)}"
                )
            batch_size = value.shape[0] if batch_size is None else batch_size
            if value.shape[0] != batch_size:
                raise ValueError(
                    f"cond {key} has batch size {value.shape[0]}, expected {batch_size}"
                )
        return cond.get("vector"), cond.get("map")

    def condition_bias(
        self, cond: Cond, height: int, width: int, batch_size: int | None = None
    ) -> list[LayerBias | None]:
        """All layers' conditioning terms, computed once (Sec. 2.3).

        Returns one (v_bias, h_bias) per layer, each (B, 2k, height, width) —
        or (B, 2k, 1, 1) when only a vector is configured — to add to the
        pre-activations; ``[None] * num_layers`` for an unconditional model.
        """
        vector, cond_map = self.split_cond(cond, batch_size)
        if not self.is_conditional:
            return [None] * len(self.layers)
        cond_map = resize_cond_map(cond_map, height, width)
        return [layer.cond_proj(vector, cond_map) for layer in self.layers]

    def cached_sampler(self):
        """A :class:`~colorize.models.gated_pixelcnn_cache.CachedGatedSampler` of the current weights."""
        return CachedGatedSampler(self)

    def forward(self, x: torch.Tensor, cond: Cond = None) -> torch.Tensor:
        self.check_input(x)
        b, c, height, width = x.shape
        biases = self.condition_bias(cond, height, width, batch_size=b)
        v = h = x  # both stacks start from the image
        for layer, bias in zip(self.layers, biases):
            v, h = layer(v, h, bias)
        out = self.output(h)
        return to_logits(out, c, self.num_classes)
