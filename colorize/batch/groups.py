"""Photos in groups that share one decoder pass: read and locked, drawn in a thread, written in order.

A thread draws a group's chroma while the main thread reads the next group
and writes the one before, and each photo gets exactly its own draws.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from colorize.batch.options import BatchOptions
from colorize.batch.plan import Job
from colorize.batch.write import DiskError, prepare_output_folder, write_photo
from colorize.colorizer import Colorizer
from colorize.fullres import lightness_of
from colorize.limits import random_seed
from colorize.photo_file import PhotoError, read_photo
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


def one_line(text: str) -> str:
    """``text`` with its line breaks and runs of spaces as single spaces."""
    return " ".join(str(text).split())


def shown(path: Path) -> str:
    """``path`` for a one-line message: control characters and undecodable bytes escaped, the rest as is."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(path))


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
