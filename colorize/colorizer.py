"""The ``Colorizer`` API: one gray photo in, several plausible colorizations out.

    from colorize import Colorizer
    colorizer = Colorizer.from_pretrained("runs/pixcolor")   # or None: the shipped model
    images = colorizer.colorize("photo.jpg", num_samples=4, seed=0)

The photo's own lightness L is kept at full resolution; only the chroma ab is
predicted (PixColor, Guadarrama et al. 2017, Sec. 3), so every output has
exactly the input's luminance, up to clipping at the sRGB gamut.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from colorize.checkpoint import load_model
from colorize.color import lab_to_rgb
from colorize.device import resolve_device
from colorize.image_io import ImageInput, load_image
from colorize.models.conditioning import BACKBONE_SIZE
from colorize.models.pixcolor import PixColor

# The default model ships inside the package (docs/architecture.md, "Contracts").
DEFAULT_MODEL_DIR = Path(__file__).parent / "weights" / "default"


def resize(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(B, C, h, w) → (B, C, height, width), bilinear, antialiased when shrinking."""
    if tuple(x.shape[-2:]) == (height, width):
        return x
    shrinking = height < x.shape[-2] or width < x.shape[-1]
    return F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False,
                         antialias=shrinking)


class Colorizer:
    """A trained PixColor model, ready to colorize. Build it with :meth:`from_pretrained`."""

    def __init__(self, model: PixColor, device: torch.device):
        self.model = model.to(device).eval()
        self.device = device

    @classmethod
    def from_pretrained(cls, path: str | Path | None = None, device: str = "auto") -> Colorizer:
        """Load a checkpoint folder written by ``pipelines.train_colorizer``; None: the shipped model."""
        path = DEFAULT_MODEL_DIR if path is None else Path(path)
        if not (path / "config.json").is_file():
            if path == DEFAULT_MODEL_DIR:
                raise FileNotFoundError(
                    f"no default model is installed at {path}; pass the folder of a checkpoint "
                    "trained with `python -m pipelines.train_colorizer`"
                )
            raise FileNotFoundError(f"no colorizer checkpoint in {path}: config.json is missing")
        resolved = resolve_device(device)
        model, config = load_model(path, resolved)
        if not isinstance(model, PixColor):
            raise ValueError(f"{path} holds a {config['model']} model, not a pixcolor colorizer")
        return cls(model, resolved)

    @torch.no_grad()
    def sample_chroma(
        self,
        lightness: torch.Tensor,
        num_samples: int = 4,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
        progress: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """L (1, 1, H, W) in [0, 100] → (ab (N, 2, S, S) at the working resolution, bins (N, 2, 28, 28))."""
        size = self.model.config.working_size
        # 1. Condition on the gray image, squashed to the backbone's square input.
        l_backbone = resize(lightness, BACKBONE_SIZE, BACKBONE_SIZE)
        # 2. Sample N low-res chroma maps from the conditional PixelCNN, one batch.
        bins = self.model.sample_lowres(l_backbone, num_samples, temperature, generator, progress)
        # 3. Refine them to the working resolution against the gray image's edges.
        return self.model.refine(resize(lightness, size, size), bins), bins

    @staticmethod
    def full_resolution(lightness: torch.Tensor, ab_work: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """4. L (1, 1, H, W) and ab (M, 2, S, S) → (sRGB (M, 3, H, W), ab (M, 2, H, W)).

        The chroma is stretched back to the photo's own size and aspect and
        joined with its own, untouched L.
        """
        ab = resize(ab_work, *lightness.shape[-2:])
        lab = torch.cat([lightness.expand(ab.shape[0], -1, -1, -1), ab], dim=1)
        return lab_to_rgb(lab), ab

    @torch.no_grad()
    def colorize(
        self,
        image: ImageInput,
        num_samples: int = 4,
        temperature: float = 1.0,
        seed: int | None = None,
        progress: bool = False,
    ) -> list[Image.Image]:
        """``num_samples`` RGB colorizations of ``image`` at its own size.

        ``image``: a path, a PIL image or a numpy array, gray or colour; colour
        is reduced to its lightness first. ``temperature`` scales the
        PixelCNN's logits (lower: safer, less varied colours). The same
        ``seed`` gives the same images; None draws a fresh one.
        """
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples < 1:
            raise ValueError(f"num_samples must be an int >= 1, got {num_samples!r}")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature!r}")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise ValueError(f"seed must be an int or None, got {seed!r}")
        # Imported here: colorize.fullres builds on this module.
        from colorize.fullres import colorize_into, lightness_of_tensor

        # L by bands of rows: kornia's Lab conversion of a whole 50-megapixel
        # photo would hold several float copies of it at once.
        lightness = lightness_of_tensor(load_image(image), self.device)  # (1, 1, H, W)
        generator = torch.Generator()
        if seed is None:
            generator.seed()
        else:
            generator.manual_seed(seed)
        ab_work, _ = self.sample_chroma(lightness, num_samples, temperature, generator, progress)
        # One sample at a time, and each in strips of a megapixel straight
        # into 8 bits: a 50-megapixel photo would otherwise hold several float
        # copies of itself in Lab and in RGB at once.
        height, width = lightness.shape[-2:]
        return [Image.fromarray(colorize_into(np.empty((height, width, 3), dtype=np.uint8),
                                              lightness, ab_work[n:n + 1]))
                for n in range(num_samples)]
