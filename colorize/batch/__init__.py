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

Photos go in groups that share one decoder pass (``groups.GROUP_DRAWS``): a thread
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

The modules, one job each: :mod:`~colorize.batch.options` (what is asked),
:mod:`~colorize.batch.plan` (which file gives which outputs),
:mod:`~colorize.batch.groups` (reading, drawing and writing photos in
groups), :mod:`~colorize.batch.write` (one photo's outputs, atomically) and
:mod:`~colorize.batch.run` (the whole run).
"""

from colorize.batch.groups import shown
from colorize.batch.options import (DEFAULT_QUALITY, FORMATS, PNG_COMPRESS_LEVEL, BatchOptions, BatchResult,
                                    BatchUsageError, Shard, launched_shard)
from colorize.batch.plan import check_folders
from colorize.batch.run import colorize_folder
from colorize.batch.write import write_image_atomically

__all__ = ["DEFAULT_QUALITY", "FORMATS", "PNG_COMPRESS_LEVEL", "BatchOptions", "BatchResult", "BatchUsageError",
           "Shard", "check_folders", "colorize_folder", "launched_shard", "shown", "write_image_atomically"]
