"""Running a batch: the folders checked, the jobs planned, the groups run under a progress bar."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from tqdm import tqdm

from colorize.atomic_write import remove_stale_temporaries
from colorize.batch.groups import run_groups
from colorize.batch.options import FORMATS, BatchOptions, BatchResult, BatchUsageError, Shard
from colorize.batch.plan import check_folders, find_jobs
from colorize.batch.write import check_writable
from colorize.colorizer import Colorizer


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
