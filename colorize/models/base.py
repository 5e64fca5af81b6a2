"""What every autoregressive model shares: the input contract, the loss, bits/dim.

A model sees classes (B, C, H, W) in [0, K) scaled to floats in [-1, 1] and
returns logits (B, K, C, H, W), so ``F.cross_entropy(logits, classes)`` is the
per-value negative log-likelihood. bits/dim is that NLL averaged over all
B·C·H·W values and divided by ln 2 (PixelRNN Sec. 5.1).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from colorize.color import classes_to_unit
from colorize.sampling import Generators, sample


class AutoregressiveModel(nn.Module):
    """Base class. Subclasses set ``self.config`` and implement ``forward``.

    ``forward(x, cond=None)``: x (B, C, H, W) floats in [-1, 1] → logits
    (B, K, C, H, W). Logits at (c, i, j) depend only on pixels before (i, j)
    in raster order and on channels < c of pixel (i, j).
    """

    model_name: str = ""
    config: object

    @property
    def num_channels(self) -> int:
        return self.config.num_channels

    @property
    def num_classes(self) -> int:
        return self.config.num_classes

    def logits(self, classes: torch.Tensor, cond: torch.Tensor | None = None,
               context_noise: float = 0.0) -> torch.Tensor:
        """classes (B, C, H, W) long → logits (B, K, C, H, W).

        ``context_noise`` > 0 adds Gaussian noise of that standard deviation
        to the inputs in [-1, 1], so that the model reads its context as a
        little uncertain (see :meth:`loss`). Causality is untouched: the noise
        is per value, and a value's logits still read only earlier values.
        """
        self._check_classes(classes)
        x = classes_to_unit(classes, self.num_classes)
        if context_noise > 0:
            x = x + context_noise * torch.randn_like(x)
        return self(x) if cond is None else self(x, cond)

    def loss(self, classes: torch.Tensor, cond: torch.Tensor | None = None,
             context_noise: float = 0.0) -> torch.Tensor:
        """Mean negative log-likelihood in nats per value, teacher-forced.

        With ``context_noise`` the targets stay the true classes but the
        inputs they are predicted from are noisy. Teacher forcing alone lets a
        model lean on the exact values of its neighbours; when it samples, its
        own small errors then feed back row after row, and a colour can drift
        across the whole image. Trained on noisy context, the prediction
        shrinks towards what the conditioning says, and the drift damps out.
        Such a model must sample with the same noise on what it reads
        (:mod:`colorize.sampling`), or its samples fade.
        """
        return F.cross_entropy(self.logits(classes, cond, context_noise), classes)

    def bits_per_dim(self, classes: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        return self.loss(classes, cond) / math.log(2)

    @torch.no_grad()
    def sample(
        self,
        batch_size: int,
        height: int,
        width: int,
        cond: torch.Tensor | None = None,
        temperature: float = 1.0,
        generator: Generators = None,
        progress: bool = False,
        method: str | None = None,
        log_prob: torch.Tensor | None = None,
        context_noise: float = 0.0,
        fixed: torch.Tensor | None = None,
        guidance: float = 1.0,
        null_cond: torch.Tensor | None = None,
        top_p: float = 1.0,
    ) -> torch.Tensor:
        """Draw (batch_size, C, height, width) classes; see :mod:`colorize.sampling`.

        ``method`` None: "cached" where the model has a cached sampler, else "naive".
        ``log_prob`` (batch_size,): gets each sample's log-likelihood added (nats).
        ``context_noise``: the noise this model was trained with on its context.
        ``fixed``: values taken instead of drawn, −1 elsewhere (:func:`colorize.sampling.sample`).
        ``guidance``, ``null_cond``, ``top_p``: classifier-free guidance and nucleus
        truncation (:func:`colorize.sampling.sample`).
        """
        if method is None:
            method = "cached" if hasattr(self, "cached_sampler") else "naive"
        return sample(
            self, batch_size, height, width, cond=cond, temperature=temperature,
            generator=generator, method=method, progress=progress, log_prob=log_prob,
            context_noise=context_noise, fixed=fixed, guidance=guidance, null_cond=null_cond, top_p=top_p,
        )

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def check_input(self, x: torch.Tensor) -> None:
        """Raise a clear error unless x is (B, C, H, W) floats for this model's C."""
        if x.dim() != 4 or x.shape[1] != self.num_channels:
            raise ValueError(
                f"{self.model_name} expects x of shape (B, {self.num_channels}, H, W), "
                f"got {tuple(x.shape)}"
            )
        if not x.is_floating_point():
            raise ValueError(f"x must be floats in [-1, 1], got {x.dtype}")

    def _check_classes(self, classes: torch.Tensor) -> None:
        if classes.dim() != 4 or classes.shape[1] != self.num_channels:
            raise ValueError(
                f"{self.model_name} expects classes of shape (B, {self.num_channels}, H, W), "
                f"got {tuple(classes.shape)}"
            )
        if classes.dtype != torch.long:
            raise ValueError(f"classes must be torch.long, got {classes.dtype}")
