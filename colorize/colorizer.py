"""The ``Colorizer`` API: one gray photo in, several plausible colorizations out.

    from colorize import Colorizer
    colorizer = Colorizer.from_pretrained("runs/pixcolor")   # or None: the shipped model
    images = colorizer.colorize("photo.jpg", num_samples=4, seed=0)
    for image in colorizer.iter_colorize("photo.jpg", num_samples=16):
        ...  # one full-size image at a time
    images = colorizer.colorize("photo.jpg", hints=[(120, 80, "#c0392b")])  # this point is red

The photo's own lightness L is kept at full resolution; only the chroma ab is
predicted (PixColor, Guadarrama et al. 2017, Sec. 3), so every output has
exactly the input's luminance, up to clipping at the sRGB gamut.
"""

from __future__ import annotations

import importlib.util

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from colorize.checkpoint import CONFIG_FILE, load_model
from colorize.device import has_fast_bf16, resolve_device
from colorize.fullres import colorize_into, lightness_of, lightness_of_tensor, luminance_of
from colorize.hints import Hint, user_hint_map
from colorize.image_io import ImageInput, array_to_rgb, is_rgb8, load_array
from colorize.models.pixcolor import LOWRES_SIZE, PixColor
from colorize.nn.resize import resize
from colorize.sampling import MAX_GUIDANCE, Generators
from colorize.selection import bits_per_value, check_selection, select_maps
from colorize.limits import check_samples, check_seed, check_temperature, check_threads
from colorize.threads import torch_threads

# The compiled join needs numba, the optional [fast] extra; without it the CPU
# runs the tensor strips of colorize.fullres, the same pixels up to a float's last bit.
if importlib.util.find_spec("numba") is not None:
    from colorize.merge_kernel import merge_into
else:
    merge_into = None

# The merge's L-only term (4 bytes a pixel) is kept for all of a photo's samples up to this size.
LUMINANCE_CACHE_PIXELS = 16_000_000
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
    """The limits of :mod:`colorize.limits` on one request; a ValueError names the one broken."""
    check_samples(num_samples)
    check_temperature(temperature)
    check_seed(seed)


@dataclass
class Colorization:
    """One colorization and how likely the decoder found its chroma.

    ``bits_per_dim``: the negative log-likelihood of its 28×28×2 chroma bins
    under the decoder, given the gray photo, in bits per value, at
    temperature 1 (the model's own distribution, whatever temperature drew it),
    each value's context read as the sampler read it (with the decoder's
    context noise, if it was trained with some).
    """

    image: Image.Image
    bits_per_dim: float


class Colorizer:
    """A trained PixColor model, ready to colorize. Build it with :meth:`from_pretrained`.

    What a user calls: :meth:`colorize` (and :meth:`iter_colorize`, one image
    at a time), :meth:`colorize_scored` (and :meth:`iter_colorize_scored`,
    each image with its likelihood) and :meth:`sampling_settings` (the
    model's defaults). ``colorize batch`` works a step lower, to share one
    decoder pass among photos and hold one full-size image at a time:
    :meth:`draw_photos_chroma`, :meth:`hint_map` and :meth:`iter_merged`.
    The underscored methods are this class's own.

    ``threads``: the CPU threads of the large operations (backbone, refinement,
    full-resolution merge); None leaves torch's setting (all cores). The
    sampler's loop always runs on one (:mod:`colorize.threads`).
    ``refine_bf16``: the refinement network under bfloat16 autocast; None: where
    it is fast (:func:`colorize.device.has_fast_bf16`). Its weights are kept in
    channels-last layout, which the CPU's convolutions run faster.
    """

    def __init__(self, model: PixColor, device: torch.device, threads: int | None = None,
                 refine_bf16: bool | None = None):
        self.model = model.to(device).eval()
        for refinement in (self.model.refinement, self.model.hint_refinement):
            if refinement is not None:
                refinement.to(memory_format=torch.channels_last)
        self.device = device
        self.threads = check_threads(threads)
        self.refine_bf16 = has_fast_bf16(device) if refine_bf16 is None else bool(refine_bf16)

    @classmethod
    def from_pretrained(cls, path: str | Path | None = None, device: str = "auto",
                        threads: int | None = None) -> Colorizer:
        """Load a checkpoint folder written by ``pipelines.train_colorizer``; None: the shipped model.
        ``threads``: see the class docstring."""
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
        return cls(model, resolved, threads)

    @torch.no_grad()
    def _draw_chroma(
        self,
        lightness: torch.Tensor,
        num_samples: int = 4,
        temperature: float = 1.0,
        generator: Generators = None,
        progress: bool = False,
        select: str = "drawn",
        draws: int | None = None,
        hints: torch.Tensor | None = None,
        guidance: float | None = None,
        top_p: float | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """L (B, 1, H, W) in [0, 100] of B photos → the N kept of M drawn maps of each, photo-major,
        in the order ``select`` gives: (ab (B·N, 2, S, S) at the working resolution,
        bins (B·N, 2, 28, 28), bits per value (B·N,)).

        Several photos share one decoder pass, their L at the working size
        (:meth:`draw_photos_chroma`); ``generator`` is then one per photo, and
        each photo gets the maps it gets alone. ``select`` and ``draws`` (M):
        see :mod:`colorize.selection`. ``hints``: None or a hint map (B, 3, S, S)
        (:func:`colorize.hints.user_hint_map`); the bits are then the
        likelihood given the hints too. ``guidance`` and ``top_p``: see :meth:`colorize`.
        """
        guidance, top_p = self.sampling_settings(guidance, top_p)
        size = self.model.config.working_size
        draws = check_selection(select, num_samples, draws)
        photos = lightness.shape[0]
        with torch_threads(self.threads):
            # 1–2. Condition on the gray image (and the hints) and sample M low-res chroma
            # maps from the conditional PixelCNN, one batch, each with its exact likelihood.
            log_prob = torch.zeros(photos * draws, dtype=torch.float64, device=self.device)
            bins = self.model.sample_lowres(lightness, draws, temperature, generator, progress, log_prob, hints,
                                            guidance=guidance, top_p=top_p)
            bits = bits_per_value(log_prob, 2 * LOWRES_SIZE * LOWRES_SIZE).cpu()
            keep = [photo * draws + index for photo in range(photos)
                    for index in select_maps(bins[photo * draws:(photo + 1) * draws],
                                             bits[photo * draws:(photo + 1) * draws], num_samples, select)]
            bins, bits = bins[keep], bits[keep]
            # 3. Refine only the kept ones to the working resolution against the gray image's edges.
            ab_work = self.model.refine(resize(lightness, size, size), bins, hints, bf16=self.refine_bf16)
            return ab_work, bins, bits

    def draw_photos_chroma(self, lightnesses: list[torch.Tensor], num_samples: int = 4,
                           temperature: float = 1.0, seeds: list[int | None] | None = None,
                           select: str = "drawn", draws: int | None = None,
                           hint_maps: list[torch.Tensor | None] | None = None,
                           guidance: float | None = None, top_p: float | None = None,
                           ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The chroma of several photos, in one decoder pass: L (1, 1, H_p, W_p) of each, of any
        sizes → per photo (ab (N, 2, S, S) at the working resolution, bits per value (N,)).

        Each photo gets what :meth:`_iter_samples` draws for it alone with its
        seed (``seeds``, None for fresh ones) and hint map (``hint_maps``, from
        :meth:`hint_map`), up to the last bits of the refinement's floats (tested):
        a batch of several photos spreads the sampler's cost per step, which
        dominates at a few samples a photo.
        """
        if not lightnesses:
            return []
        seeds = [None] * len(lightnesses) if seeds is None else seeds
        hint_maps = [None] * len(lightnesses) if hint_maps is None else hint_maps
        if len(seeds) != len(lightnesses) or len(hint_maps) != len(lightnesses):
            raise ValueError("give one seed and one hint map (or None) per photo")
        size = self.model.config.working_size
        # The conditioning resizes L to this size anyway, and a same-size resize is the identity.
        l_work = torch.cat([resize(lightness, size, size) for lightness in lightnesses])
        hints = None
        if any(hint_map is not None for hint_map in hint_maps):
            # An empty map is exactly no hints (tested), so photos without hints keep their draws.
            empty = torch.zeros(1, 3, size, size, device=self.device)
            hints = torch.cat([empty if hint_map is None else hint_map for hint_map in hint_maps])
        ab_work, _, bits = self._draw_chroma(l_work, num_samples, temperature,
                                             [seeded_generator(seed) for seed in seeds], False, select,
                                             draws, hints, guidance, top_p)
        return [(ab_work[p * num_samples:(p + 1) * num_samples], bits[p * num_samples:(p + 1) * num_samples])
                for p in range(len(lightnesses))]

    def hint_map(self, hints: list[Hint] | None, width: int, height: int) -> torch.Tensor | None:
        """User hints on a width × height photo → the model's hint map (1, 3, S, S), or None
        for none; a clear ValueError for a bad point or colour, or a model without hint inputs."""
        hint_map = user_hint_map(hints, width, height, self.model.config.working_size, self.device)
        if hint_map is not None and not self.model.config.hints:
            raise ValueError("this model was trained without colour hints; use one trained with "
                             "`python -m pipelines.train_colorizer --hints` (the shipped model is)")
        return hint_map

    def _iter_samples(self, lightness: torch.Tensor, num_samples: int = 4, temperature: float = 1.0,
                      seed: int | None = None, out: np.ndarray | None = None, progress: bool = False,
                      select: str = "drawn", draws: int | None = None,
                      hints: torch.Tensor | None = None, guidance: float | None = None,
                      top_p: float | None = None) -> Iterator[tuple[np.ndarray, float]]:
        """The colorizations of L (1, 1, H, W), one (uint8 (H, W, 3) image, bits per value) at a time.
        ``hints``: None or a hint map from :meth:`hint_map`. ``out``: see :meth:`iter_merged`.
        """
        ab_work, _, bits = self._draw_chroma(lightness, num_samples, temperature, seeded_generator(seed),
                                             progress, select, draws, hints, guidance, top_p)
        yield from self.iter_merged(lightness, ab_work, bits, out)

    def iter_merged(self, lightness: torch.Tensor, ab_work: torch.Tensor, bits: torch.Tensor,
                    out: np.ndarray | None = None) -> Iterator[tuple[np.ndarray, float]]:
        """L (1, 1, H, W) and N chroma maps ab (N, 2, S, S) with their bits (N,) → the N
        colorizations, one (uint8 (H, W, 3) image, bits per value) at a time.

        4. Each is joined with the photo's own L at full resolution: by the
        compiled loop of :mod:`colorize.merge_kernel` on the CPU (with numba,
        the [fast] extra), by strips of tensors (:mod:`colorize.fullres`)
        elsewhere. With ``out``
        (C-contiguous uint8 (H, W, 3), or (H, W, 4) whose alpha plane is
        kept), every sample is written into that one buffer: take (save) each
        before asking for the next. Without it, each is a new array.
        """
        height, width = lightness.shape[-2:]
        num_samples = ab_work.shape[0]
        if self.device.type == "cpu" and merge_into is not None:
            # The compiled loop of colorize.merge_kernel, one band of rows per thread.
            threads, plane = self.threads or torch.get_num_threads(), lightness[0, 0].numpy()

            def join(buffer: np.ndarray, n: int) -> None:
                merge_into(buffer, plane, ab_work[n], threads)
        else:
            luminance = None  # above the cap, each band computes its own: memory stays at L plus one output
            if height * width <= LUMINANCE_CACHE_PIXELS:
                with torch_threads(self.threads):
                    luminance = luminance_of(lightness)  # the merge's L-only term, once for all samples

            def join(buffer: np.ndarray, n: int) -> None:
                with torch_threads(self.threads):
                    colorize_into(buffer, lightness, ab_work[n:n + 1], luminance=luminance)
        for n in range(num_samples):
            buffer = np.empty((height, width, 3), dtype=np.uint8) if out is None else out
            join(buffer, n)
            yield buffer, float(bits[n])

    def _lightness(self, image: ImageInput) -> torch.Tensor:
        """The photo's L (1, 1, H, W) in [0, 100] on the colorizer's device: what it keeps of it.

        By bands of rows: kornia's Lab conversion of a whole 50-megapixel
        photo would hold several float copies of it at once. 8-bit pixels (a
        file, a PIL image, a uint8 array) take the table path of
        :func:`colorize.fullres.lightness_of`, with the same numbers.
        """
        array = load_array(image)
        if is_rgb8(array):
            return lightness_of(array, self.device)
        return lightness_of_tensor(array_to_rgb(array), self.device)

    def iter_colorize_scored(self, image: ImageInput, num_samples: int = 4, temperature: float = 1.0,
                             seed: int | None = None, select: str = "drawn", draws: int | None = None,
                             progress: bool = False, hints: list[Hint] | None = None,
                             guidance: float | None = None, top_p: float | None = None) -> Iterator[Colorization]:
        """The colorizations of :meth:`colorize_scored`, one full-size image at a time.

        The arguments are checked, and the photo read, before this returns.
        """
        check_sampling_options(num_samples, temperature, seed)
        check_samples(check_selection(select, num_samples, draws), "draws")
        self.sampling_settings(guidance, top_p)
        lightness = self._lightness(image)
        hint_map = self.hint_map(hints, width=lightness.shape[-1], height=lightness.shape[-2])
        # Each image copies its pixels out of one buffer before the next sample is made: a new
        # buffer a sample would spend much of the merge's time on the memory's first touch.
        buffer = np.empty((*lightness.shape[-2:], 3), dtype=np.uint8)
        samples = self._iter_samples(lightness, num_samples, temperature, seed, out=buffer, progress=progress,
                                     select=select, draws=draws, hints=hint_map, guidance=guidance,
                                     top_p=top_p)
        return (Colorization(Image.fromarray(pixels), bits) for pixels, bits in samples)

    def colorize_scored(self, image: ImageInput, num_samples: int = 4, temperature: float = 1.0,
                        seed: int | None = None, select: str = "drawn", draws: int | None = None,
                        progress: bool = False, hints: list[Hint] | None = None,
                        guidance: float | None = None, top_p: float | None = None) -> list[Colorization]:
        """``num_samples`` colorizations of ``image``, each with the decoder's bits per value.

        ``select``: "drawn" (the order drawn), "likely" (the ``num_samples``
        most likely of ``draws`` drawn, best first) or "diverse" (from the most
        likely, each next the one farthest from those picked); ``draws``
        defaults to 4 × ``num_samples`` for the last two. With one seed,
        "likely" keeps exactly the best of the images that "drawn" with
        ``num_samples=draws`` gives. Only the kept samples are refined and
        brought to full resolution. The other arguments: :meth:`colorize`.
        """
        return list(self.iter_colorize_scored(image, num_samples, temperature, seed, select, draws,
                                              progress, hints, guidance, top_p))

    def iter_colorize(self, image: ImageInput, num_samples: int = 4, temperature: float = 1.0,
                      seed: int | None = None, progress: bool = False, select: str = "drawn",
                      draws: int | None = None, hints: list[Hint] | None = None,
                      guidance: float | None = None, top_p: float | None = None) -> Iterator[Image.Image]:
        """The ``num_samples`` colorizations of :meth:`colorize`, one full-size image at a time."""
        scored = self.iter_colorize_scored(image, num_samples, temperature, seed, select, draws, progress,
                                           hints, guidance, top_p)
        return (colorization.image for colorization in scored)

    def colorize(
        self,
        image: ImageInput,
        num_samples: int = 4,
        temperature: float = 1.0,
        seed: int | None = None,
        progress: bool = False,
        select: str = "drawn",
        draws: int | None = None,
        hints: list[Hint] | None = None,
        guidance: float | None = None,
        top_p: float | None = None,
    ) -> list[Image.Image]:
        """``num_samples`` RGB colorizations of ``image`` at its own size.

        ``image``: a path, a PIL image or a numpy array, gray or colour; colour
        is reduced to its lightness first. ``temperature`` scales the
        PixelCNN's logits (lower: safer, less varied colours). The same
        ``seed`` gives the same images; None draws a fresh one. ``select`` and
        ``draws``: see :meth:`colorize_scored`. For many samples of a large
        photo, :meth:`iter_colorize` holds one at a time.

        ``hints``: colours the user fixes, ``[(x, y, colour), ...]``; ``x, y``
        the column and row in the image's own pixels, ``colour`` "#rrggbb" or
        (r, g, b) in 0–255. A hint fixes the chroma (ab) of its colour around
        that point; the lightness stays the photo's own. Every sample honours
        the hints and differs elsewhere; the same seed with other hints shows
        what they change. Needs a model trained with hints (the shipped one).

        ``guidance``: the scale of classifier-free guidance, how strongly each
        chroma value leans towards what the gray photo says over what any photo
        would have there (1: none; higher: colours more typical of the object,
        less varied). ``top_p``: each value drawn from its most likely classes
        of this total probability (1: all). None takes the model's own
        defaults (:meth:`sampling_settings`), the settings it was evaluated best at.
        """
        return list(self.iter_colorize(image, num_samples, temperature, seed, progress, select, draws,
                                       hints, guidance, top_p))

    def sampling_settings(self, guidance: float | None = None, top_p: float | None = None) -> tuple[float, float]:
        """(guidance, top_p) to sample with: the given values, checked, or for None the
        model's defaults (``default_guidance`` and ``default_top_p`` of its config)."""
        config = self.model.config
        guidance = config.default_guidance if guidance is None else guidance
        top_p = config.default_top_p if top_p is None else top_p
        if isinstance(guidance, bool) or not isinstance(guidance, (int, float)) or not 0 <= guidance <= MAX_GUIDANCE:
            raise ValueError(f"guidance must be a number in [0, {MAX_GUIDANCE:g}], got {guidance!r}")
        if guidance != 1 and self.model.null_cond is None:
            raise ValueError("this model was trained without classifier-free guidance; use guidance=1")
        if isinstance(top_p, bool) or not isinstance(top_p, (int, float)) or not 0 < top_p <= 1:
            raise ValueError(f"top_p must be a number in (0, 1], got {top_p!r}")
        return float(guidance), float(top_p)
