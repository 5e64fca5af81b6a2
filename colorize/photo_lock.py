"""One run at a time per photo: an exclusive lock file beside the photo's outputs.

Two ``colorize batch`` runs into one OUT_DIR would otherwise both colorize
every photo. Before a photo is colorized its run takes ``OUT/a/.photo.jpg.lock``
with ``fcntl.flock``; a second run that finds the lock held skips the photo.
The kernel releases a flock when its process ends, however it ends, so the
lock file that a killed run leaves behind blocks nobody: the next run takes
it over. A run that finishes a photo, fails on it or is stopped by Ctrl-C or
SIGTERM removes the file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from colorize.atomic_write import hidden_stem


def lock_path(targets_folder: Path, source_name: str) -> Path:
    """``OUT/a`` and ``photo.jpg`` → ``OUT/a/.photo.jpg.lock`` (a long name shortened, as a
    temporary file's is, so that the lock's name fits wherever the outputs' names fit)."""
    return targets_folder / f".{hidden_stem(source_name)}.lock"


@contextlib.contextmanager
def photo_lock(path: Path) -> Iterator[bool]:
    """``with photo_lock(path) as held:``: ``held`` is False when another live run holds ``path``.

    Holding it, the lock file exists until the block ends; it is then removed.
    """
    while True:
        # O_NOFOLLOW: a link planted under the lock's name is refused, never written through.
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            yield False
            return
        # The lock's previous holder may have removed the file between our open and our flock;
        # then we hold a lock on a file no other run can see. Try again on the current one.
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path, follow_symlinks=False))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield True
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.close(fd)
