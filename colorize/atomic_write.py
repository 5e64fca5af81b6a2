"""Atomic file writes: readers see the old file or the whole new one, never a part.

Each write goes to a temporary sibling made by ``mkstemp`` (a new name, opened
exclusively, so a link planted under that name is never written through), is
synced to disk, then renamed over the target. ``os.replace`` replaces a link
at the target itself, never the file it points to. The temporary file is
removed on any error, Ctrl-C included.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


@functools.cache
def new_file_mode() -> int:
    """The permissions an ordinary new file gets (0o666 less the umask); mkstemp's are 0o600."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_file(path: str | Path, mode: int | None = None) -> Iterator[BinaryIO]:
    """``with atomic_file(path) as file: file.write(...)``: ``path`` appears whole on success.

    ``mode``: the new file's permissions; None gives those of an ordinary new file.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            os.fchmod(file.fileno(), new_file_mode() if mode is None else mode)
            yield file
            file.flush()
            os.fsync(file.fileno())  # the bytes reach the disk before the name points at them
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_bytes_atomically(path: str | Path, data: bytes, mode: int | None = None) -> None:
    with atomic_file(path, mode) as file:
        file.write(data)
