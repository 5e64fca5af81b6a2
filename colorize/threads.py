"""The number of CPU threads torch uses, set for a block of work and restored after it.

Two kinds of work share one process: the sampler's loop of tiny operations,
where a second thread only adds a wait at each one, and the large ones
(backbone, refinement, the full-resolution merge), which want every core.
``torch.set_num_threads`` is global to the process, so each block sets what
it needs and puts back what it found.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from colorize.limits import check_threads


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` intra-op threads (None: leave the setting), then restore it."""
    check_threads(threads)
    before = torch.get_num_threads()
    if threads is None or threads == before:
        yield
        return
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
