"""What a batch is asked to do: its options, its shard of the photos, and its result."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from colorize.limits import MAX_PIXELS, MAX_SAMPLES, MAX_SPARSE_PIXELS, check_seed, check_temperature
from colorize.selection import check_selection

if TYPE_CHECKING:
    from colorize.batch.plan import Job

# Output formats: the file suffix and Pillow's save options. PNG at compression
# level 1: zlib's default (6) takes several times as long for files a few
# percent smaller (measured in the README), and PNG encoding was the slowest
# step of a batch of 1024×768 photos. JPEG and WebP take ``--quality``.
FORMATS = {"png": ".png", "jpg": ".jpg", "webp": ".webp"}
PNG_COMPRESS_LEVEL = 1
DEFAULT_QUALITY = {"jpg": 95, "webp": 90}


class BatchUsageError(ValueError):
    """The folders or options make no sense as a batch; the CLI reports it as a usage error (exit 2)."""


@dataclass(frozen=True)
class BatchOptions:
    """How each photo is colorized; the same meaning as in ``Colorizer.colorize``."""

    num_samples: int = 4
    temperature: float = 1.0
    seed: int | None = None  # every photo uses this same seed, so results do not depend on the file order
    overwrite: bool = False  # False: skip a photo whose outputs all exist
    select: str = "drawn"  # which samples to keep: see colorize.selection
    draws: int | None = None  # how many to draw for "likely" and "diverse" (default 4 × num_samples)
    # Photo name → hints (colorize.hints.read_hints_file): a path under IN_DIR, or a file name.
    hints: dict[str, list] = field(default_factory=dict)
    format: str = "png"  # a key of FORMATS
    quality: int | None = None  # jpg and webp, 1–100; None: DEFAULT_QUALITY
    guidance: float | None = None  # classifier-free guidance scale; None: the model's default
    top_p: float | None = None  # nucleus mass of each value; None: the model's default
    max_pixels: int | None = MAX_PIXELS  # larger files are refused from their header (colorize.limits)
    max_sparse_pixels: int | None = MAX_SPARSE_PIXELS  # the limit for files far smaller than their image
    uncertainty: bool = False  # also write PHOTO_unsure.png, where the samples disagree (needs 2 or more)

    def save_options(self) -> dict:
        """Pillow's ``save`` keywords for this format."""
        if self.format == "png":
            return {"format": "PNG", "compress_level": PNG_COMPRESS_LEVEL}
        quality = DEFAULT_QUALITY[self.format] if self.quality is None else self.quality
        return {"format": "JPEG" if self.format == "jpg" else "WEBP", "quality": quality}

    def hints_for(self, relative: str) -> list:
        """The hints of the photo at ``relative`` (posix, under IN_DIR): by its path, else its name."""
        return self.hints.get(relative, self.hints.get(relative.rsplit("/", 1)[-1], []))

    def unmatched_hints(self, jobs: list[Job]) -> list[str]:
        """The hint file's names that no photo of ``jobs`` has."""
        names = {job.relative for job in jobs} | {job.relative.rsplit("/", 1)[-1] for job in jobs}
        return sorted(set(self.hints) - names)

    def __post_init__(self):
        if (not isinstance(self.num_samples, int) or isinstance(self.num_samples, bool)
                or not 1 <= self.num_samples <= MAX_SAMPLES):
            raise BatchUsageError(f"the number of samples must be an integer in [1, {MAX_SAMPLES}], "
                                  f"got {self.num_samples!r}")
        try:
            check_temperature(self.temperature, "the temperature")
            check_seed(self.seed, "the seed")
            draws = check_selection(self.select, self.num_samples, self.draws)
        except ValueError as err:
            raise BatchUsageError(str(err)) from None
        if draws > MAX_SAMPLES:
            raise BatchUsageError(f"draws must be at most {MAX_SAMPLES}, got {draws}")
        if self.format not in FORMATS:
            raise BatchUsageError(f"unknown format {self.format!r}; choose one of {', '.join(FORMATS)}")
        if self.quality is not None:
            if self.format == "png":
                raise BatchUsageError("--quality is for jpg and webp; PNG is lossless")
            if isinstance(self.quality, bool) or not isinstance(self.quality, int) or not 1 <= self.quality <= 100:
                raise BatchUsageError(f"the quality must be an integer in [1, 100], got {self.quality!r}")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count``: the photos at positions index, index + count, … of the sorted list."""

    index: int = 0
    count: int = 1

    def __post_init__(self):
        if not 0 <= self.index < self.count:
            raise BatchUsageError(f"shard {self.index}/{self.count}: need 0 <= I < N")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"I/N"`` → Shard(I, N)."""
        try:
            index, count = (int(part) for part in text.split("/"))
        except ValueError:
            raise BatchUsageError(f"--shard must be I/N with integers 0 <= I < N, got {text!r}") from None
        return cls(index, count)

    def within(self, inner: Shard) -> Shard:
        """Shard ``inner`` of this shard, as one shard of the whole list (torchrun ranks inside --shard)."""
        return Shard(self.index + self.count * inner.index, self.count * inner.count)

    def take(self, items: list) -> list:
        return items[self.index::self.count]


def launched_shard() -> Shard:
    """This process's shard under ``torchrun`` (RANK of WORLD_SIZE); the whole list otherwise."""
    return Shard(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)))


@dataclass
class BatchResult:
    done: int = 0
    skipped: int = 0  # outputs already there, or another run colorizing the photo
    failed: int = 0
    unsupported: int = 0  # files that are not images of a supported format
    seconds: float = 0.0
    interrupted: bool = False  # stopped by Ctrl-C or SIGTERM before the last file
    stopped: bool = False  # stopped by a full or read-only disk before the last file

    def summary(self) -> str:
        """One line: ``3 done, 1 skipped, 0 failed, 1 unsupported (5 in all, 12.5 s)``."""
        total = self.done + self.skipped + self.failed + self.unsupported
        stop = "interrupted after " if self.interrupted else "stopped after " if self.stopped else ""
        return (f"{stop}{self.done} done, {self.skipped} skipped, {self.failed} failed, "
                f"{self.unsupported} unsupported ({total} in all, {self.seconds:.1f} s)")
