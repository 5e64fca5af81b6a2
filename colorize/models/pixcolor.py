"""PixColor: conditioning network + conditional Gated PixelCNN on 28×28 ab + refinement network.

PixColor (Guadarrama et al. 2017), Sec. 3 and Fig. 2:

1. the conditioning network reads L at 224×224 and gives a 28×28×D map;
2. a Gated PixelCNN (van den Oord et al. 2016), conditioned on that map at
   every layer (Sec. 2.3 there), models the 28×28 chroma as 32 bins per
   channel, a before b at each pixel, trained by maximum likelihood with
   teacher forcing; sampling it gives diverse low-res colourings;
3. the refinement network turns L at the working resolution plus a low-res
   sample into ab at the working resolution.

A model built with ``hints`` also reads a colour-hint map (Zhang et al. 2017;
:mod:`colorize.hints`) in stages 1 and 3: the hints steer every sample, and
the PixelCNN still samples all that they leave open. With ``hint_refinement``
photos with hints go through a refinement network of their own
(:meth:`PixColor.add_hint_refinement`), and those without keep the one that
was trained without them.

Stages 1+2 and stage 3 train separately (Sec. 3.3): the refinement network
learns from ground truth, never from samples. This module holds the three
networks and their losses; :mod:`colorize.colorizer` runs inference.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from colorize.color import NUM_AB_BINS, dequantize_ab
from colorize.guided_filter import guided_filter
from colorize.hints import has_hints, hinted_bins
from colorize.models.conditioning import (
    BACKBONE_SIZE,
    ConditioningConfig,
    ConditioningNetwork,
    upgrade_stored_conditioning,
)
from colorize.models.gated_pixelcnn import PRESETS as GATED_PRESETS
from colorize.models.gated_pixelcnn import GatedPixelCNN, GatedPixelCNNConfig
from colorize.models.refinement import RefinementConfig, RefinementNetwork
from colorize.models.registry import build_model, config_from_dict, register_model

STAGES = ("decoder", "refine")
LOWRES_SIZE = 28  # PixColor Sec. 3.2: chroma is sampled at 28×28
# The hint inputs train at this multiple of the learning rate. They start at
# zero, and only the few hinted cells of a batch move them, so at a fine-tuning
# rate they stayed near zero: 400 steps at 1.5e-4 left the val bits/dim with
# hints where it was without (1.0360 against 1.0361); 25 steps at 50 times
# that rate on one batch lowered its loss with hints by 3 %.
HINT_LR_SCALE = 50.0


def decoder_config(preset: str, cond_map_channels: int) -> dict[str, Any]:
    """The 2-channel, 32-bin Gated PixelCNN preset, conditioned on a D-channel map."""
    return dict(num_channels=2, num_classes=NUM_AB_BINS, cond_map_channels=cond_map_channels,
                **GATED_PRESETS[preset])


@dataclass
class PixColorConfig:
    conditioning: ConditioningConfig = field(default_factory=ConditioningConfig)
    decoder: GatedPixelCNNConfig = field(
        default_factory=lambda: GatedPixelCNNConfig(**decoder_config("small", 64)))
    refinement: RefinementConfig = field(default_factory=RefinementConfig)
    working_size: int = BACKBONE_SIZE  # side of the refinement network's input and output
    # Std of the noise on the decoder's context (inputs in [-1, 1]) that it was
    # trained with; sampling adds the same, or the samples fade to gray.
    context_noise: float = 0.0
    # Whether the conditioning and refinement networks read a colour-hint map.
    hints: bool = False
    # Whether photos with hints have a refinement network of their own.
    hint_refinement: bool = False
    # Whether the decoder has a learned null conditioning map, the "unconditional"
    # branch of classifier-free guidance (see PixColor.decoder_loss).
    null_conditioning: bool = False
    # The sampling settings the model was evaluated best at, which the Colorizer
    # uses unless told otherwise: the guidance scale (1: none) and the nucleus mass.
    default_guidance: float = 1.0
    default_top_p: float = 1.0
    # The guided filter of the refined chroma by L (colorize.guided_filter): the
    # window radius at the working resolution (0: none) and the ridge, in L units².
    edge_radius: int = 0
    edge_eps: float = 25.0

    def __post_init__(self):
        # Rebuilt from JSON or a preset, the parts arrive as plain dicts.
        self.conditioning = config_from_dict(ConditioningConfig, self.conditioning, "pixcolor.conditioning")
        self.decoder = config_from_dict(GatedPixelCNNConfig, self.decoder, "pixcolor.decoder")
        self.refinement = config_from_dict(RefinementConfig, self.refinement, "pixcolor.refinement")
        if self.decoder.num_channels != 2 or self.decoder.num_classes != NUM_AB_BINS:
            raise ValueError(f"the decoder must model 2 channels × {NUM_AB_BINS} bins of ab")
        if self.decoder.cond_map_channels != self.conditioning.channels:
            raise ValueError(
                f"decoder cond_map_channels ({self.decoder.cond_map_channels}) must equal the "
                f"conditioning map's channels ({self.conditioning.channels})"
            )
        if self.conditioning.map_size != LOWRES_SIZE:
            raise ValueError(f"the conditioning map must be {LOWRES_SIZE}×{LOWRES_SIZE}")
        if self.working_size % 4:
            raise ValueError(f"working_size must be divisible by 4, got {self.working_size}")
        if self.hint_refinement and not self.hints:
            raise ValueError("hint_refinement needs a model that reads hints (hints=True)")
        if self.default_guidance != 1 and not self.null_conditioning:
            raise ValueError("default_guidance needs a null conditioning map (null_conditioning=True)")
        if not 0 < self.default_top_p <= 1:
            raise ValueError(f"default_top_p must be in (0, 1], got {self.default_top_p}")
        if not 0 <= self.context_noise < 1:
            raise ValueError(f"context_noise must be in [0, 1), got {self.context_noise}")
        if self.edge_radius < 0 or self.edge_eps <= 0:
            raise ValueError(f"edge_radius must be >= 0 and edge_eps > 0, got {self.edge_radius} "
                             f"and {self.edge_eps}")


def _preset(cond: int, adapter_blocks: int, decoder: str, width: int, refine_blocks: int) -> dict:
    return dict(
        conditioning=dict(channels=cond, num_blocks=adapter_blocks),
        decoder=decoder_config(decoder, cond),
        refinement=dict(width=width, num_blocks=refine_blocks),
    )


PRESETS = {
    "tiny": _preset(cond=12, adapter_blocks=1, decoder="tiny", width=8, refine_blocks=1),
    "small": _preset(cond=64, adapter_blocks=2, decoder="small", width=16, refine_blocks=2),
    "medium": _preset(cond=96, adapter_blocks=3, decoder="medium", width=24, refine_blocks=2),
    "base": _preset(cond=128, adapter_blocks=3, decoder="base", width=32, refine_blocks=3),
}


@register_model("pixcolor", PixColorConfig, PRESETS, zoo=False, upgrade_stored=upgrade_stored_conditioning)
class PixColor(nn.Module):
    """The three networks of the colorizer. Tensors:

    * ``lightness`` (B, 1, H, W): L in [0, 100] at any size, the conditioning
      input (the conditioning network squashes it to 224×224 itself);
    * ``l_work`` (B, 1, S, S): L at the working resolution S = ``working_size``;
    * ``ab_bins`` (B, 2, 28, 28): int64 bins in [0, 32);
    * ``ab_work`` (B, 2, S, S): ab in Lab units.
    """

    def __init__(self, config: PixColorConfig):
        super().__init__()
        self.config = config
        self.conditioning = ConditioningNetwork(config.conditioning, config.hints)
        self.decoder = GatedPixelCNN(config.decoder)
        self.refinement = RefinementNetwork(config.refinement, config.hints)
        self.hint_refinement = RefinementNetwork(config.refinement, hints=True) \
            if config.hint_refinement else None
        # Classifier-free guidance (Ho and Salimans 2022): one learned map stands
        # for "no gray image" wherever training drops a crop's conditioning.
        map_shape = (config.conditioning.channels, LOWRES_SIZE, LOWRES_SIZE)
        self.null_cond = nn.Parameter(torch.zeros(map_shape)) if config.null_conditioning else None
        # The decoder starts as an unconditional model, its projections of the
        # conditioning map at zero: an untrained map only adds noise to every
        # gate, and training first has to learn to ignore it. From zero, each
        # layer learns to use the gray image as far as it helps.
        for layer in self.decoder.layers:
            nn.init.zeros_(layer.cond_proj.map.weight)
            nn.init.zeros_(layer.cond_proj.map.bias)

    @classmethod
    def from_preset(cls, preset: str = "small", **overrides: Any) -> PixColor:
        """``build_model("pixcolor", preset, **overrides)``; a nested part overrides whole."""
        return build_model(cls.model_name, preset, **overrides)

    def add_hint_inputs(self) -> None:
        """Give a model trained without hints its zero-initialised hint inputs, to fine-tune:
        until then it computes exactly what it did (``config.hints`` is set)."""
        if self.config.hints:
            raise ValueError("this model already reads colour hints")
        self.conditioning.adapter.add_hint_input()
        self.refinement.add_hint_input()
        self.config.hints = True

    def add_hint_refinement(self) -> None:
        """Give photos with hints a refinement network of their own, a copy of the shared one.

        A sampled 28×28 chroma may paint an object in a colour that a hint
        contradicts, and the shared network, trained on the ground truth's own
        bins, has never had to overrule its low-res input. The copy is trained
        on perturbed chroma (:func:`colorize.hints.perturb_chroma`) to do so,
        while photos without hints keep exactly the network they had.
        """
        if not self.config.hints:
            raise ValueError("add the hint inputs first (add_hint_inputs)")
        if self.hint_refinement is not None:
            raise ValueError("this model already has a hint refinement network")
        self.hint_refinement = copy.deepcopy(self.refinement)
        self.config.hint_refinement = True

    def refinement_for(self, hints: torch.Tensor | None) -> RefinementNetwork:
        """The network that refines a batch with these hints (None: without hints)."""
        return self.refinement if hints is None or self.hint_refinement is None else self.hint_refinement

    def decoder_loss(self, lightness: torch.Tensor, ab_bins: torch.Tensor,
                     context_noise: float = 0.0, hints: torch.Tensor | None = None,
                     cond_dropout: float = 0.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """Teacher-forced NLL of the low-res chroma given the gray image (and ``hints``, a hint
        map (B, 3, S, S) or None), nats per value (``context_noise``: see
        :meth:`AutoregressiveModel.loss`; training passes the std that it also stores in
        ``config.context_noise``, validation 0).

        ``cond_dropout``: the share of crops whose conditioning map is replaced by the
        learned null map (drawn from ``generator`` on the CPU), so that one decoder
        learns both p(ab | gray) and p(ab), the two branches of classifier-free
        guidance (Ho and Salimans 2022, Sec. 3.2 and Algorithm 1).
        """
        cond = self.conditioning(lightness, hints)
        if cond_dropout > 0:
            if self.null_cond is None:
                raise ValueError("cond_dropout needs a model with a null conditioning map "
                                 "(null_conditioning=True)")
            dropped = torch.rand(cond.shape[0], generator=generator) < cond_dropout
            dropped = dropped.to(cond.device)[:, None, None, None]
            cond = torch.where(dropped, self.null_cond.to(cond.dtype).expand_as(cond), cond)
        return self.decoder.loss(ab_bins, cond, context_noise)

    def add_null_conditioning(self) -> None:
        """Give a model trained without it the null map of classifier-free guidance (zeros)."""
        if self.null_cond is not None:
            raise ValueError("this model already has a null conditioning map")
        device = next(self.parameters()).device
        self.null_cond = nn.Parameter(torch.zeros(self.config.conditioning.channels, LOWRES_SIZE,
                                                  LOWRES_SIZE, device=device))
        self.config.null_conditioning = True

    def refinement_loss(self, l_work: torch.Tensor, ab_bins: torch.Tensor,
                        ab_work: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        """L1 loss of the refined chroma, fed the ground truth's low-res bins (Sec. 3.3), or,
        training the hint refinement, perturbed ones; with ``hints`` the hint refinement scores
        every crop of the batch, those with an empty map too."""
        return self.refinement_for(hints).loss(l_work, dequantize_ab(ab_bins), ab_work, hints)

    @torch.no_grad()
    def sample_lowres(self, lightness: torch.Tensor, num_samples: int, temperature: float = 1.0,
                      generator: torch.Generator | None = None, progress: bool = False,
                      log_prob: torch.Tensor | None = None,
                      hints: torch.Tensor | None = None, guidance: float = 1.0,
                      top_p: float = 1.0) -> torch.Tensor:
        """B gray images (B, 1, H, W) → B·N chroma maps (B·N, 2, 28, 28), image-major, one batch.

        ``log_prob`` (B·N,): gets each map's log-likelihood given its gray image added, in
        nats. The decoder reads its draws with the context noise it was trained with.
        ``hints``: None or one hint map per image (B, 3, S, S); the conditioning reads them,
        and the cells they touch take the hint's bins as observed values (:func:`hinted_bins`).
        ``guidance``: the classifier-free guidance scale, which needs a model trained with a
        null conditioning map (1: none); ``top_p``: nucleus truncation of each value
        (:func:`colorize.sampling.sample`).
        """
        # One conditioning map per image: the sampler projects it once for all N samples.
        cond = self.conditioning(lightness, hints)
        fixed = None
        if hints is not None:
            fixed = hinted_bins(hints, LOWRES_SIZE).repeat_interleave(num_samples, dim=0)
        null = None
        if guidance != 1:
            if self.null_cond is None:
                raise ValueError("this model was trained without a null conditioning map: it has no "
                                 "classifier-free guidance (use guidance=1)")
            null = self.null_cond.to(cond.dtype).expand_as(cond)
        return self.decoder.sample(cond.shape[0] * num_samples, LOWRES_SIZE, LOWRES_SIZE, cond=cond,
                                   temperature=temperature, generator=generator, progress=progress,
                                   log_prob=log_prob, context_noise=self.config.context_noise, fixed=fixed,
                                   guidance=guidance, null_cond=null, top_p=top_p)

    @torch.no_grad()
    def refine(self, l_work: torch.Tensor, ab_bins: torch.Tensor,
               hints: torch.Tensor | None = None, bf16: bool = False) -> torch.Tensor:
        """L (B, 1, S, S), bins (B·N, 2, 28, 28), image-major, and ``hints`` (None or
        (B, 3, S, S)) → ab (B·N, 2, S, S), float32.

        ``bf16``: run the convolutions under bfloat16 autocast (about twice as fast
        on a CPU with AVX512-BF16, and on CUDA; the README gives the effect on the
        val metrics). Inputs in channels-last layout take the faster kernels.
        With a hint refinement, the images with hints go through it and the
        others through the shared network, without hints. With
        ``config.edge_radius`` > 0 the refined chroma is then guided-filtered by
        L (:func:`colorize.guided_filter.guided_filter`), so that its edges sit on L's.
        """
        ab = self._refine_network(l_work, ab_bins, hints, bf16)
        if self.config.edge_radius:
            ab = guided_filter(l_work, ab, self.config.edge_radius, self.config.edge_eps)
        return ab

    def _refine_network(self, l_work: torch.Tensor, ab_bins: torch.Tensor,
                        hints: torch.Tensor | None, bf16: bool) -> torch.Tensor:
        """The refinement network(s) alone: :meth:`refine`'s shapes."""
        repeats = ab_bins.shape[0] // l_work.shape[0]
        l_work = l_work.repeat_interleave(repeats, dim=0)
        ab_low = dequantize_ab(ab_bins)
        if hints is not None:
            hints = hints.repeat_interleave(repeats, dim=0)
        with torch.autocast(l_work.device.type, dtype=torch.bfloat16, enabled=bf16):
            if hints is None or self.hint_refinement is None:
                return self.refinement(l_work, ab_low, hints).float()
            hinted = has_hints(hints)
            ab = torch.empty(ab_low.shape[0], 2, *l_work.shape[-2:], device=ab_low.device)
            if not hinted.all():
                plain = ~hinted
                ab[plain] = self.refinement(l_work[plain], ab_low[plain]).float()
            if hinted.any():
                ab[hinted] = self.hint_refinement(l_work[hinted], ab_low[hinted], hints[hinted]).float()
            return ab

    def pretrained_keys(self) -> set[str]:
        """State-dict keys that the installed package provides and checkpoints leave out."""
        return self.conditioning.pretrained_keys("conditioning.")

    def num_parameters(self, trainable_only: bool = False) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def stage_parameters(self, stage: str, hint_lr_scale: float = HINT_LR_SCALE) -> list[nn.Parameter] | list[dict]:
        """What each training stage updates: adapter (+ backbone if fine-tuned) and decoder, or
        refinement. With hint inputs: two optimizer groups, the hint inputs at ``hint_lr_scale``
        times the learning rate (``HINT_LR_SCALE``, for fine-tuning new hint inputs: see there). With a hint refinement, the refine stage trains
        that network alone, its hint input already trained, at one rate."""
        if stage == "decoder":
            params = list(self.conditioning.adapter.parameters()) + list(self.decoder.parameters())
            if self.null_cond is not None:
                params.append(self.null_cond)
            if self.config.conditioning.finetune_backbone:
                params += list(self.conditioning.backbone.parameters())
            hint_input = self.conditioning.adapter.project_hints
        elif stage == "refine" and self.hint_refinement is not None:
            return list(self.hint_refinement.parameters())
        elif stage == "refine":
            params = list(self.refinement.parameters())
            hint_input = self.refinement.stem_hints
        else:
            raise ValueError(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")
        if hint_input is None:
            return params
        hint_params = {id(p) for p in hint_input.parameters()}
        return [{"params": [p for p in params if id(p) not in hint_params]},
                {"params": list(hint_input.parameters()), "lr_scale": hint_lr_scale}]
