"""Colorizing a folder of photos: ``python -m colorize batch IN_DIR OUT_DIR``.

Subfolders are mirrored: ``IN/a/photo.jpg`` gives ``OUT/a/photo_0.png`` …
``photo_{N-1}.png`` and ``OUT/a/photo.json``, the record of the seed,
temperature, selection and each output's bits/dim (docs/architecture.md,
"Contracts"). The run is built to be left alone and
rerun:

- a photo whose N outputs all exist is skipped, so a rerun resumes; a
  photo that another run is colorizing right now (its lock file beside the
  outputs is held) is skipped too, so two runs into one OUT_DIR share the work;
- OUT_DIR is checked as writable, with space left, before any photo is
  colorized; a write that fails names the output file, and a full or
  read-only disk stops the run at the first photo that meets it;
- a file that is not a supported image gets one line (``skipped: PATH: not a
  supported image format (.txt)``) and is counted in the summary;
- each output is written to a hidden temporary file beside it and renamed
  into place, so a killed run leaves no half-written PNG (SIGTERM and Ctrl-C
  also remove the temporary file; only SIGKILL can leave a ``.*.tmp``, and
  the next run into the same OUT_DIR removes it);
- a file that cannot be colorized is reported on one line and the batch goes
  on; the exit status says whether any failed;
- nothing is ever written under IN_DIR;
- ``--hints FILE.json`` gives some photos colour hints (:mod:`colorize.hints`),
  keyed by their path under IN_DIR (``a/photo.jpg``) or, for any folder, their
  file name; a name that matches no photo gets a warning line.

Photos go in groups that share one decoder pass (GROUP_DRAWS): a thread
draws a group's chroma while the main thread reads the next group and
writes the one before, and each photo gets exactly its own draws.

Memory stays bounded at any photo size: only L, the alpha plane if any, and
two 8-bit samples (one being written while the next is made) exist at full
resolution (see :mod:`colorize.merge_kernel`). With groups, the L and alpha of
at most two groups wait at once: about GROUP_PIXELS each, or one photo where
it alone is larger.

A cluster splits one batch into shards: shard I of N takes every N-th photo
of the sorted list, starting at the I-th, so N shards do each photo exactly
once. ``--shard I/N`` names one for schedulers that start independent jobs;
under ``torchrun`` each process takes its rank's share on its own.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from colorize.atomic_write import atomic_file, remove_stale_temporaries, write_bytes_atomically
from colorize.colorizer import Colorizer
from colorize.fullres import lightness_of
from colorize.limits import MAX_PIXELS, MAX_SAMPLES, MAX_SPARSE_PIXELS, check_seed, check_temperature, random_seed
from colorize.photo_file import PhotoError, is_image_name, read_photo
from colorize.photo_lock import lock_path, photo_lock
from colorize.selection import check_selection

# Photos whose chroma is drawn in one decoder pass. The sampler's cost per
# step grows little with its batch up to tens of maps, so at a few samples a
# photo a group costs not much more than one photo (the README has the
# figures). Bounded by the maps drawn (the sampler's memory) and by the
# photos' full-size pixels: each one's L waits, 4 bytes a pixel, for its group.
GROUP_DRAWS = 16
GROUP_MAX_PHOTOS = 8
GROUP_PIXELS = 16_000_000
# Free space OUT_DIR must have before a run starts: a few outputs' worth.
MIN_FREE_BYTES = 64 << 20
# Output formats: the file suffix and Pillow's save options. PNG at compression
# level 1: zlib's default (6) takes several times as long for files a few
# percent smaller (measured in the README), and PNG encoding was the slowest
# step of a batch of 1024×768 photos. JPEG and WebP take ``--quality``.
FORMATS = {"png": ".png", "jpg": ".jpg", "webp": ".webp"}
PNG_COMPRESS_LEVEL = 1
DEFAULT_QUALITY = {"jpg": 95, "webp": 90}
# Writing an output that fails with one of these stops the run: every later photo would fail too.
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, errno.EDQUOT})


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
class Job:
    """One input file and the outputs it gives; ``problem`` is set when it cannot even be tried,
    ``unsupported`` when it is not an image the batch reads."""

    source: Path
    targets: list[Path]
    problem: str | None = None
    unsupported: bool = False
    relative: str = ""  # the source's path under IN_DIR, posix: what a hints file calls it


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


def check_folders(in_dir: str | Path, out_dir: str | Path) -> tuple[Path, Path]:
    """The two folders as given, after refusing what would read outputs back in or write into IN_DIR."""
    in_dir, out_dir = Path(in_dir), Path(out_dir)
    if not in_dir.exists():
        raise BatchUsageError(f"IN_DIR {in_dir} does not exist")
    if not in_dir.is_dir():
        raise BatchUsageError(f"IN_DIR {in_dir} is not a folder")
    if out_dir.exists() and not out_dir.is_dir():
        raise BatchUsageError(f"OUT_DIR {out_dir} exists and is not a folder")
    # resolve() follows symbolic links, so a link that leads into IN_DIR is caught too.
    if inside(out_dir.resolve(), in_dir.resolve()):
        raise BatchUsageError(
            f"OUT_DIR {out_dir} is IN_DIR or inside it: the outputs would be read back in as "
            "photos on the next run; choose a folder outside IN_DIR")
    return in_dir, out_dir


def inside(path: Path, folder: Path) -> bool:
    """Whether resolved ``path`` is resolved ``folder`` or under it."""
    return path == folder or folder in path.parents


def output_paths(out_dir: Path, relative: Path, num_samples: int, suffix: str = ".png") -> list[Path]:
    """``a/photo.jpg`` → ``OUT/a/photo_0.png`` … ``photo_{N-1}.png`` (or another ``suffix``)."""
    folder = out_dir / relative.parent
    return [folder / f"{relative.stem}_{n}{suffix}" for n in range(num_samples)]


def record_path(targets: list[Path]) -> Path:
    """``OUT/a/photo_0.png`` … → ``OUT/a/photo.json``, the photo's record."""
    return targets[0].with_name(targets[0].name.rsplit("_", 1)[0] + ".json")


def find_jobs(in_dir: Path, out_dir: Path, num_samples: int, suffix: str = ".png") -> list[Job]:
    """Every image under ``in_dir``, sorted by relative path, with its outputs.

    Symbolic links to folders are not followed (a link to ``.`` would loop
    forever); links to files are read. A folder that cannot be listed, and a
    second file whose outputs would overwrite the first's (``photo.jpg`` and
    ``photo.png``), become failed jobs rather than being passed over in silence.
    """
    jobs = []

    def unlistable(err: OSError) -> None:
        jobs.append(Job(Path(err.filename), [], f"cannot list the folder: {err.strerror}"))

    for folder, subfolders, files in os.walk(in_dir, onerror=unlistable, followlinks=False):
        subfolders.sort()
        for name in files:
            source = Path(folder) / name
            if is_image_name(name):
                relative = source.relative_to(in_dir)
                jobs.append(Job(source, output_paths(out_dir, relative, num_samples, suffix),
                                relative=relative.as_posix()))
            elif not name.startswith("."):  # hidden files (.DS_Store, editors' swap files) are no photos
                jobs.append(Job(source, [], unsupported=True))
    jobs.sort(key=lambda job: job.source.parts)
    first_claim: dict[Path, Path] = {}
    for job in jobs:
        if job.targets:
            earlier = first_claim.setdefault(job.targets[0], job.source)
            if earlier != job.source:
                job.problem = (f"its outputs {job.targets[0].name} … would overwrite those of "
                               f"{earlier.name}; rename one of the two")
    return jobs


def write_png_atomically(image: Image.Image, path: Path, **save_options) -> None:
    """Save ``image`` at ``path`` (:func:`colorize.atomic_write.atomic_file`): PNG, or the
    format of ``save_options`` (Pillow's ``save`` keywords)."""
    with atomic_file(path) as file:
        image.save(file, **({"format": "PNG"} | save_options))


def check_writable(out_dir: Path) -> None:
    """Refuse an OUT_DIR that cannot take a file, or that has almost no space left, before any work."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".colorize-write-test.", dir=out_dir)
    except OSError as err:
        raise BatchUsageError(f"OUT_DIR {out_dir} is not writable: {err.strerror}") from None
    os.close(fd)
    os.unlink(probe)
    stats = os.statvfs(out_dir)
    if stats.f_bavail * stats.f_frsize < MIN_FREE_BYTES:
        raise BatchUsageError(f"OUT_DIR {out_dir} is full: {stats.f_bavail * stats.f_frsize >> 20} MB free, "
                              f"a run needs at least {MIN_FREE_BYTES >> 20} MB")


class DiskError(Exception):
    """An output could not be written for a reason every later photo would meet too."""


def prepare_output_folder(job: Job, in_root: Path) -> Path:
    """The job's output folder, created, after refusing one that lies inside IN_DIR."""
    out_folder = job.targets[0].parent
    if inside(out_folder.resolve(), in_root):
        # check_folders refused OUT_DIR inside IN_DIR; this catches the rest (OUT_DIR a parent
        # of IN_DIR, symbolic links in OUT_DIR), one output folder at a time.
        raise PhotoError(f"its output folder {out_folder} lies inside IN_DIR; nothing is written there")
    try:
        out_folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise PhotoError(f"cannot create its output folder {out_folder}: {err.strerror}") from None
    return out_folder


def write_output(image: Image.Image, target: Path, save_options: dict | None = None) -> None:
    """:func:`write_png_atomically`, its errors naming ``target`` (never the temporary file)."""
    try:
        write_png_atomically(image, target, **(save_options or {}))
    except OSError as err:
        message = f"cannot write {target}: {err.strerror or err}"
        raise (DiskError if err.errno in DISK_ERRNOS else PhotoError)(message) from None


def output_image(pixels: np.ndarray, alpha: np.ndarray | None) -> Image.Image:
    """uint8 RGB (H, W, 3) and the photo's alpha plane (H, W) or None → the image to save."""
    image = Image.fromarray(pixels)
    if alpha is not None:
        image.putalpha(Image.fromarray(alpha))
    return image


@dataclass
class OpenPhoto:
    """A photo read and locked, waiting for its group's chroma: its L at full size (4 bytes
    a pixel), alpha plane, read warnings, hints and seed."""

    job: Job
    lightness: torch.Tensor | None
    alpha: np.ndarray | None
    notes: list[str]
    hints: list
    hint_map: torch.Tensor | None
    seed: int

    @property
    def pixels(self) -> int:
        return self.lightness.shape[-2] * self.lightness.shape[-1]


def open_photo(colorizer: Colorizer, job: Job, options: BatchOptions) -> OpenPhoto:
    """Read ``job.source`` down to what its colorization needs; raises on a photo that cannot be."""
    photo = read_photo(job.source, options.max_pixels, options.max_sparse_pixels)
    rgb, alpha, notes = photo.rgb, photo.alpha, photo.warnings
    del photo
    height, width = rgb.shape[:2]
    lightness = lightness_of(rgb, colorizer.device)
    del rgb  # from here on only L (4 bytes a pixel) and the output exist at full size
    hints = options.hints_for(job.relative)
    try:
        hint_map = colorizer.hint_map(hints, width, height)
    except ValueError as err:
        raise PhotoError(f"its hints: {err}") from None
    # A fresh seed is drawn here rather than inside the sampler, so the record can name it.
    seed = random_seed() if options.seed is None else options.seed
    return OpenPhoto(job, lightness, alpha, notes, hints, hint_map, seed)


def draw_group(colorizer: Colorizer, photos: list[OpenPhoto],
               options: BatchOptions) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The chroma of a group of photos, one decoder pass: per photo (ab (N, 2, S, S), bits (N,))."""
    return colorizer.draw_photos_chroma([photo.lightness for photo in photos], options.num_samples,
                                        options.temperature, [photo.seed for photo in photos],
                                        options.select, options.draws, [photo.hint_map for photo in photos],
                                        options.guidance, options.top_p)


def write_photo(colorizer: Colorizer, photo: OpenPhoto, chroma: tuple[torch.Tensor, torch.Tensor],
                options: BatchOptions) -> list[str]:
    """Join the photo with its chroma, write its outputs and record; returns warnings, raises on failure."""
    job, alpha, notes = photo.job, photo.alpha, photo.notes
    # One buffer for all samples: each is copied into its image before the next is asked for.
    buffer = np.empty((*photo.lightness.shape[-2:], 3), dtype=np.uint8)
    samples = colorizer.iter_merged(photo.lightness, *chroma, out=buffer)
    outputs, save_options = [], options.save_options()
    if alpha is not None and options.format == "jpg":
        notes = [*notes, "JPEG has no alpha channel: the outputs are opaque"]
        alpha = None
    # The next sample is joined in a thread while this one is encoded and
    # written (both release the GIL). The writing stays in this thread, so
    # Ctrl-C or SIGTERM interrupts it and its temporary file is removed;
    # leaving the block waits for the sample in the making, which writes
    # nothing. At most two samples exist at full size: one in the buffer, one
    # in the image being written.
    with ThreadPoolExecutor(max_workers=1) as maker:
        upcoming = maker.submit(next, samples, None)
        for target in job.targets:
            pixels, bits = upcoming.result()
            image = output_image(pixels, alpha)
            del pixels
            upcoming = maker.submit(next, samples, None)
            write_output(image, target, save_options)
            outputs.append({"file": target.name, "bits_per_dim": round(bits, 6)})
    guidance, top_p = colorizer.sampling_settings(options.guidance, options.top_p)
    record = {"source": job.source.name, "seed": photo.seed, "temperature": options.temperature,
              "guidance": guidance, "top_p": top_p, "select": options.select, "draws": check_selection(options.select, options.num_samples,
                                                                 options.draws),
              "outputs": outputs}
    if photo.hints:
        record["hints"] = [list(hint[:2]) + [hint[2] if isinstance(hint[2], str) else list(hint[2])]
                           for hint in photo.hints]
    try:
        write_bytes_atomically(record_path(job.targets), (json.dumps(record, indent=2) + "\n").encode())
    except OSError as err:
        message = f"cannot write {record_path(job.targets)}: {err.strerror or err}"
        raise (DiskError if err.errno in DISK_ERRNOS else PhotoError)(message) from None
    return notes


def one_line(text: str) -> str:
    """``text`` with its line breaks and runs of spaces as single spaces."""
    return " ".join(str(text).split())


def shown(path: Path) -> str:
    """``path`` for a one-line message: control characters and undecodable bytes escaped, the rest as is."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(path))


def colorize_folder(colorizer: Colorizer, in_dir: str | Path, out_dir: str | Path,
                    options: BatchOptions = BatchOptions(), log: TextIO | None = None,
                    shard: Shard = Shard()) -> BatchResult:
    """Colorize every image under ``in_dir`` into ``out_dir``; errors and the progress bar go to ``log``.

    ``shard``: do only this shard of the sorted list of photos.

    Raises :class:`BatchUsageError` for folders that cannot be a batch. A file
    that fails is reported on one line and the others go on. Ctrl-C, or
    SIGTERM in the main thread, stops the run after removing the temporary
    file in progress; the result then says ``interrupted``. The temporary
    files of an earlier run into ``out_dir`` that was killed are removed first.
    """
    log = sys.stderr if log is None else log
    in_dir, out_dir = check_folders(in_dir, out_dir)
    in_root = in_dir.resolve()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise BatchUsageError(f"cannot create OUT_DIR {out_dir}: {err.strerror}") from None
    check_writable(out_dir)
    # What a killed run left half-written (its process has ended; colorize.atomic_write).
    remove_stale_temporaries(out_dir)
    start = time.perf_counter()
    result = BatchResult()
    # Sharded after the overwrite check of find_jobs, so a name clash is reported by whichever shard holds it.
    jobs = find_jobs(in_dir, out_dir, options.num_samples, FORMATS[options.format])
    unmatched = options.unmatched_hints(jobs)
    jobs = shard.take(jobs)
    label = "colorizing" if shard.count == 1 else f"colorizing {shard.index}/{shard.count}"
    with interrupt_on_sigterm(), tqdm(total=len(jobs), desc=label, unit="photo",
                                      file=log, dynamic_ncols=True) as progress:
        for name in unmatched:
            progress.write(f"warning: the hints file names {name!r}, which is no photo under {in_dir}",
                           file=log)

        def report(outcome: str, lines: list[str]) -> bool:
            """Count and print one photo's outcome; True when the run must stop."""
            stop = outcome == "stopped"  # a full or read-only disk: the photo failed, and so would the rest
            outcome = "failed" if stop else outcome
            setattr(result, outcome, getattr(result, outcome) + 1)
            for line in lines:
                progress.write(line, file=log)
            if outcome == "failed":
                progress.set_postfix(failed=result.failed)
            progress.update()
            result.stopped = stop
            return stop

        try:
            run_groups(colorizer, jobs, options, in_root, report)
        except KeyboardInterrupt:
            result.interrupted = True
    result.seconds = time.perf_counter() - start
    return result


def failure(job: Job, err: Exception) -> tuple[str, list[str]]:
    """The outcome and line of a photo that failed with ``err`` (a disk error stops the run)."""
    if isinstance(err, DiskError):
        return "stopped", [f"error: {shown(job.source)}: {one_line(err)}; stopping: "
                           "every later photo would fail the same way"]
    reason = str(err) if isinstance(err, PhotoError) else f"{type(err).__name__}: {err}"
    return "failed", [f"error: {shown(job.source)}: {one_line(reason)}"]


@dataclass
class Group:
    """Consecutive jobs whose photos share one decoder pass. ``entries`` keeps the job order:
    an :class:`OpenPhoto`, or the (outcome, lines) of a job settled without colorizing;
    ``locks`` holds the open photos' locks until their outputs are written."""

    entries: list = field(default_factory=list)
    locks: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    @property
    def photos(self) -> list[OpenPhoto]:
        return [entry for entry in self.entries if isinstance(entry, OpenPhoto)]


def group_photos(options: BatchOptions) -> int:
    """How many photos a group takes at most: GROUP_DRAWS maps in all, at least one photo."""
    draws = check_selection(options.select, options.num_samples, options.draws)
    return max(1, min(GROUP_MAX_PHOTOS, GROUP_DRAWS // draws))


def open_groups(colorizer: Colorizer, jobs: list[Job], options: BatchOptions,
                in_root: Path) -> Iterator[Group]:
    """The jobs in groups, their photos read and locked: a group closes at
    :func:`group_photos` photos, or at GROUP_PIXELS pixels of them."""
    group, most = Group(), group_photos(options)
    for job in jobs:
        try:
            group.entries.append(open_job(colorizer, job, options, in_root, group.locks))
        except BaseException:  # Ctrl-C while reading: the group's locks (and lock files) go
            group.locks.close()
            raise
        photos = group.photos
        if len(photos) >= most or sum(photo.pixels for photo in photos) >= GROUP_PIXELS:
            yield group
            group = Group()
    if group.entries:
        yield group


def open_job(colorizer: Colorizer, job: Job, options: BatchOptions, in_root: Path,
             locks: contextlib.ExitStack) -> OpenPhoto | tuple[str, list[str]]:
    """One file, up to its colorization: its :class:`OpenPhoto`, its lock entered into
    ``locks``; or, for a file settled here, its outcome (a :class:`BatchResult` counter:
    skipped, failed, unsupported; "stopped" for a disk error) and lines to report."""
    if job.unsupported:
        suffix = job.source.suffix.lower() or "no extension"
        return "unsupported", [f"skipped: {shown(job.source)}: not a supported image format ({suffix})"]

    def finished() -> bool:
        return job.problem is None and not options.overwrite and all(t.exists() for t in job.targets)

    if finished():
        return "skipped", []
    with contextlib.ExitStack() as held_lock:
        try:
            if job.problem is not None:
                raise PhotoError(job.problem)
            out_folder = prepare_output_folder(job, in_root)
            if not held_lock.enter_context(photo_lock(lock_path(out_folder, job.source.name))):
                return "skipped", [f"skipped: {shown(job.source)}: another run is colorizing it"]
            if finished():  # the other run finished it while this one waited for the lock
                return "skipped", []
            photo = open_photo(colorizer, job, options)
        except Exception as err:  # noqa: BLE001 -- one bad file must not stop the batch
            return failure(job, err)
        locks.enter_context(held_lock.pop_all())  # held until the photo's outputs are written
        return photo


def run_groups(colorizer: Colorizer, jobs: list[Job], options: BatchOptions, in_root: Path,
               report) -> None:
    """Colorize ``jobs`` a group at a time, calling ``report(outcome, lines)`` for each job in
    order; stops when it returns True.

    Three things overlap: the main thread reads the next group, a thread
    draws a group's chroma (the sampler runs on one core), and the main
    thread joins and writes the group before. Writing stays in the main
    thread, so Ctrl-C or SIGTERM interrupts it and removes its temporary
    file. At most two groups are open at once.
    """
    drawer = ThreadPoolExecutor(max_workers=1)
    pending: list[tuple[Group, Future]] = []
    try:
        for group in open_groups(colorizer, jobs, options, in_root):
            pending.append((group, drawer.submit(draw_group, colorizer, group.photos, options)))
            if len(pending) == 2 and finish_group(colorizer, *pending.pop(0), options, report):
                return
        while pending:
            if finish_group(colorizer, *pending.pop(0), options, report):
                return
    finally:
        # A draw in flight finishes in its thread and is dropped; the locks go now.
        drawer.shutdown(wait=False, cancel_futures=True)
        for group, _ in pending:
            group.locks.close()


def finish_group(colorizer: Colorizer, group: Group, drawn: Future, options: BatchOptions, report) -> bool:
    """Write the group's photos and report each of its jobs in order; True when the run must stop."""
    with group.locks:
        try:
            chroma = iter(drawn.result())
        except Exception as err:  # noqa: BLE001 -- the group's photos fail, the batch goes on
            chroma = err
        for entry in group.entries:
            if not isinstance(entry, OpenPhoto):
                outcome, lines = entry
            elif isinstance(chroma, Exception):
                outcome, lines = failure(entry.job, chroma)
            else:
                try:
                    notes = write_photo(colorizer, entry, next(chroma), options)
                    outcome = "done"
                    lines = [f"warning: {shown(entry.job.source)}: {one_line(note)}" for note in notes]
                except Exception as err:  # noqa: BLE001 -- one bad file must not stop the batch
                    outcome, lines = failure(entry.job, err)
                entry.lightness = None  # its full-size L is no longer needed
            if report(outcome, lines):
                return True
    return False


@contextlib.contextmanager
def interrupt_on_sigterm() -> Iterator[None]:
    """While inside, SIGTERM raises KeyboardInterrupt, so ``finally`` blocks (temporary files) run.

    Signal handlers can only be set from the main thread; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
