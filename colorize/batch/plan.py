"""The plan of a batch: which files under IN_DIR become which outputs under OUT_DIR."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from colorize.batch.options import BatchUsageError
from colorize.image_io import is_image_name


@dataclass
class Job:
    """One input file and the outputs it gives; ``problem`` is set when it cannot even be tried,
    ``unsupported`` when it is not an image the batch reads."""

    source: Path
    targets: list[Path]
    problem: str | None = None
    unsupported: bool = False
    relative: str = ""  # the source's path under IN_DIR, posix: what a hints file calls it


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
