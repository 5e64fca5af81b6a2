"""Atomic file writes: readers see the old file or the whole new one, never a part.

Each write goes to a temporary sibling made by ``mkstemp`` (a new name, opened
exclusively, so a link planted under that name is never written through), is
synced to disk, then renamed over the target. ``os.replace`` replaces a link
at the target itself, never the file it points to. The temporary file is
removed on any error, Ctrl-C included; only SIGKILL (or a crash) leaves one,
named ``.NAME.PID.XXXXXXXX.tmp``, which :func:`remove_stale_temporaries`
takes away once process PID has ended.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
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


# A file name may take 255 bytes; a hidden sibling's name keeps this many of the
# target's, so that its dots, process id and random part always fit beside them.
HIDDEN_NAME_BYTES = 200
STALE_TEMPORARY = re.compile(r"^\..+\.(\d+)\.[a-z0-9_]{8}\.tmp$")


def hidden_stem(name: str) -> str:
    """``name`` as the stem of a hidden sibling: itself when short, else its first bytes and a hash.

    Two long names that share their first bytes still get different stems.
    """
    encoded = name.encode("utf-8", "surrogateescape")
    if len(encoded) <= HIDDEN_NAME_BYTES:
        return name
    head = encoded[:HIDDEN_NAME_BYTES - 13].decode("utf-8", "ignore")
    return f"{head}~{hashlib.sha256(encoded).hexdigest()[:12]}"


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale_temporaries(folder: Path) -> int:
    """Remove the temporary files under ``folder`` whose writing process has ended; their count.

    Links are not followed. A process id is only meaningful on this machine:
    two hosts writing into one shared folder should not use the same one.
    """
    removed = 0
    for root, _, names in os.walk(folder):
        for name in names:
            match = STALE_TEMPORARY.match(name)
            if match and not process_alive(int(match.group(1))):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(root, name))
                    removed += 1
    return removed


@contextlib.contextmanager
def atomic_file(path: str | Path, mode: int | None = None) -> Iterator[BinaryIO]:
    """``with atomic_file(path) as file: file.write(...)``: ``path`` appears whole on success.

    ``mode``: the new file's permissions; None gives those of an ordinary new file.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{hidden_stem(path.name)}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
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
