"""Writing a batch's outputs: each file atomically, errors naming the output, a full disk stopping the run."""

from __future__ import annotations

import errno
import json
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image

from colorize.atomic_write import atomic_file, write_bytes_atomically
from colorize.batch.options import BatchOptions, BatchUsageError
from colorize.batch.plan import Job, inside, record_path
from colorize.colorizer import Colorizer
from colorize.photo_file import PhotoError
from colorize.selection import check_selection
from colorize.uncertainty import SpreadAccumulator, spread_backdrop, spread_overlay, suggest_hints

if TYPE_CHECKING:
    from colorize.batch.groups import OpenPhoto

# Free space OUT_DIR must have before a run starts: a few outputs' worth.
MIN_FREE_BYTES = 64 << 20
# Writing an output that fails with one of these stops the run: every later photo would fail too.
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, errno.EDQUOT})


def write_image_atomically(image: Image.Image, path: Path, **save_options) -> None:
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
    """:func:`write_image_atomically`, its errors naming ``target`` (never the temporary file)."""
    try:
        write_image_atomically(image, target, **(save_options or {}))
    except OSError as err:
        message = f"cannot write {target}: {err.strerror or err}"
        raise (DiskError if err.errno in DISK_ERRNOS else PhotoError)(message) from None


def output_image(pixels: np.ndarray, alpha: np.ndarray | None) -> Image.Image:
    """uint8 RGB (H, W, 3) and the photo's alpha plane (H, W) or None → the image to save."""
    image = Image.fromarray(pixels)
    if alpha is not None:
        image.putalpha(Image.fromarray(alpha))
    return image


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
    spread = SpreadAccumulator() if options.uncertainty and len(job.targets) >= 2 else None
    backdrop = None
    with ThreadPoolExecutor(max_workers=1) as maker:
        upcoming = maker.submit(next, samples, None)
        for target in job.targets:
            pixels, bits = upcoming.result()
            image = output_image(pixels, alpha)
            del pixels
            upcoming = maker.submit(next, samples, None)
            write_output(image, target, save_options)
            outputs.append({"file": target.name, "bits_per_dim": round(bits, 6)})
            if spread is not None:
                spread.add(image)
                if backdrop is None:
                    backdrop = spread_backdrop(image, spread.spread_size())
    guidance, top_p = colorizer.sampling_settings(options.guidance, options.top_p)
    draws = check_selection(options.select, options.num_samples, options.draws)
    record = {"source": job.source.name, "seed": photo.seed, "temperature": options.temperature,
              "guidance": guidance, "top_p": top_p, "select": options.select, "draws": draws,
              "outputs": outputs}
    if spread is not None:
        record["uncertainty"] = write_uncertainty(spread, backdrop, image.size, job.targets, save_options)
    if photo.hints:
        record["hints"] = [list(hint[:2]) + [hint[2] if isinstance(hint[2], str) else list(hint[2])]
                           for hint in photo.hints]
    try:
        write_bytes_atomically(record_path(job.targets), (json.dumps(record, indent=2) + "\n").encode())
    except OSError as err:
        message = f"cannot write {record_path(job.targets)}: {err.strerror or err}"
        raise (DiskError if err.errno in DISK_ERRNOS else PhotoError)(message) from None
    return notes


def uncertainty_path(targets: list[Path]) -> Path:
    """``OUT/a/photo_0.png`` … → ``OUT/a/photo_unsure.png``, the photo's uncertainty map."""
    return record_path(targets).with_name(record_path(targets).stem + "_unsure.png")


def write_uncertainty(spread: SpreadAccumulator, backdrop: Image.Image, size: tuple[int, int],
                      targets: list[Path], save_options: dict) -> dict:
    """Write the map of where the samples disagree (:mod:`colorize.uncertainty`), the suggested hint
    points ringed; returns the record's entry: the map's file and the points, in the photo's pixels."""
    spread_map = spread.spread()
    width, height = size
    points = suggest_hints(spread_map, width, height)
    overlay = spread_overlay(backdrop, spread_map, [(x * backdrop.width / width, y * backdrop.height / height)
                                                    for x, y in points])
    target = uncertainty_path(targets)
    write_output(overlay, target, {"format": "PNG", "compress_level": save_options.get("compress_level", 1)})
    return {"file": target.name, "suggested_hints": [list(point) for point in points]}
