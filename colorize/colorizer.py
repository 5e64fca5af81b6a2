"""The ``Colorizer`` API: one gray photo in, several plausible colorizations out.

    from colorize import Colorizer
    colorizer = Colorizer.from_pretrained("runs/pixcolor")   # or None: the shipped model
    images = colorizer.colorize("photo.jpg", num_samples=4, seed=0)
    for image in colorizer.iter_colorize("photo.jpg", num_samples=16):
        ...  # one full-size image at a time

The photo's own lightness L is kept at full resolution; only the chroma ab is
predicted (PixColor, Guadarrama et al. 2017, Sec. 3), so every output has
exactly the input's luminance, up to clipping at the sRGB gamut.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from colorize.checkpoint import CONFIG_FILE, load_model
from colorize.device import resolve_device
from colorize.fullres import colorize_into, lightness_of_tensor
from colorize.image_io import ImageInput, load_image
from colorize.models.pixcolor import PixColor
from colorize.nn.resize import resize

# The default model ships inside the package (docs/architecture.md, "Contracts").
DEFAULT_MODEL_DIR = Path(__file__).parent / "weights" / "default"


def seeded_generator(seed: int | None) -> torch.Generator:
    """The generator every sampling entry point draws from: ``seed``, or a fresh one for None."""
    generator = torch.Generator()
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    return generator


def check_sampling_options(num_samples: int, temperature: float, seed: int | None) -> None:
    if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples < 1:
        raise ValueError(f"num_samples must be an int >= 1, got {num_samples!r}")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise ValueError(f"seed must be an int or None, got {seed!r}")


class Colorizer:
    """A trained PixColor model, ready to colorize. Build it with :meth:`from_pretrained`."""

    def __init__(self, model: PixColor, device: torch.device):
        self.model = model.to(device).eval()
        self.device = device

    @classmethod
    def from_pretrained(cls, path: str | Path | None = None, device: str = "auto") -> Colorizer:
        """Load a checkpoint folder written by ``pipelines.train_colorizer``; None: the shipped model."""
        path = DEFAULT_MODEL_DIR if path is None else Path(path)
        if not (path / CONFIG_FILE).is_file():
            if path == DEFAULT_MODEL_DIR:
                raise FileNotFoundError(
                    f"no default model is installed at {path}; pass the folder of a checkpoint "
                    "trained with `python -m pipelines.train_colorizer`"
                )
            raise FileNotFoundError(f"no colorizer checkpoint in {path}: {CONFIG_FILE} is missing")
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
        # 1–2. Condition on the gray image and sample N low-res chroma maps
        # from the conditional PixelCNN, one batch.
        bins = self.model.sample_lowres(lightness, num_samples, temperature, generator, progress)
        # 3. Refine them to the working resolution against the gray image's edges.
        return self.model.refine(resize(lightness, size, size), bins), bins

    def iter_samples(self, lightness: torch.Tensor, num_samples: int = 4, temperature: float = 1.0,
                     seed: int | None = None, out: np.ndarray | None = None,
                     progress: bool = False) -> Iterator[np.ndarray]:
        """The colorizations of L (1, 1, H, W), one uint8 (H, W, 3) image at a time.

        4. Each is joined with the photo's own L at full resolution, in strips
        (:mod:`colorize.fullres`). With ``out`` (uint8 (H, W, 3), or (H, W, 4)
        whose alpha plane is kept), every sample is written into that one
        buffer: take (save) each before asking for the next. Without it, each
        is a new array.
        """
        ab_work, _ = self.sample_chroma(lightness, num_samples, temperature, seeded_generator(seed), progress)
        height, width = lightness.shape[-2:]
        for n in range(num_samples):
            buffer = np.empty((height, width, 3), dtype=np.uint8) if out is None else out
            yield colorize_into(buffer, lightness, ab_work[n:n + 1])

    def iter_colorize(self, image: ImageInput, num_samples: int = 4, temperature: float = 1.0,
                      seed: int | None = None, progress: bool = False) -> Iterator[Image.Image]:
        """The ``num_samples`` colorizations of :meth:`colorize`, one full-size image at a time.

        The arguments are checked, and the photo read, before this returns.
        """
        check_sampling_options(num_samples, temperature, seed)
        # L by bands of rows: kornia's Lab conversion of a whole 50-megapixel
        # photo would hold several float copies of it at once.
        lightness = lightness_of_tensor(load_image(image), self.device)  # (1, 1, H, W)
        samples = self.iter_samples(lightness, num_samples, temperature, seed, progress=progress)
        return (Image.fromarray(pixels) for pixels in samples)

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
        ``seed`` gives the same images; None draws a fresh one. For many
        samples of a large photo, :meth:`iter_colorize` holds one at a time.
        """
        return list(self.iter_colorize(image, num_samples, temperature, seed, progress))
