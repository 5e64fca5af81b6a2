"""Every limit on what a user may ask for, in one table: the API, the CLI and the web page check these.

Each limit keeps one request from taking a machine that others share (memory,
cores, the page's one worker) or from giving garbage instead of an error. The
checks raise ValueError with a one-line message that names the limit.

| limit | value | why |
|---|---|---|
| samples per photo (and draws to select from) | 1–``MAX_SAMPLES`` | each sample holds a full-size chroma plane while it is made |
| samples per request on the web page | 1–``PAGE_MAX_SAMPLES`` | the page has one worker for all its visitors |
| temperature | ``MIN_TEMPERATURE``–``MAX_TEMPERATURE`` | below, logits / T overflow to garbage; above, colours are noise |
| seed | 0–``MAX_SEED`` | what ``torch.Generator.manual_seed`` takes |
| CPU threads | 1–``max_threads()`` | more threads than cores only wait on each other |
| hints per photo | ``MAX_HINTS`` | each is painted and checked one by one |
| hints file | ``MAX_HINTS_FILE_BYTES``, nesting ``MAX_HINTS_DEPTH`` | a file is read whole into memory |
| pixels of a photo file | ``MAX_PIXELS`` (``--max-megapixels``) | the 50-megapixel memory bound of ``benchmarks.batch_memory`` |
| pixels of a file far smaller than its image | ``MAX_SPARSE_PIXELS`` (``--max-sparse-megapixels``) | a tiny file that claims a huge image is damaged or a bomb |
| decoding one file | ``DECODE_SECONDS`` | no file may hold a worker forever |
"""

from __future__ import annotations

import math
import os
import secrets

MAX_SAMPLES = 256
PAGE_MAX_SAMPLES = 16
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.05, 2.0
MAX_SEED = 2**64 - 1
THREADS_PER_CORE = 2
MAX_HINTS = 256
MAX_HINTS_FILE_BYTES = 16 * 1024 * 1024
# {"photo": [[x, y, [r, g, b]]]} is 4 levels deep; a little room for what JSON allows beyond it.
MAX_HINTS_DEPTH = 8
MAX_PIXELS = 50_000_000
# A real photo takes far more than a byte per thousand pixels: deflate, the
# best of PNG's filters on a flat picture, stops near 1,000 : 1 on 8-bit gray.
SPARSE_PIXELS_PER_BYTE = 2_000
# Below this many pixels a sparse file is read with a warning; above it, refused.
MAX_SPARSE_PIXELS = 16_000_000
DECODE_SECONDS = 30.0


def random_seed() -> int:
    """A fresh seed for a run that names none: 63 bits, recorded so the run can be repeated."""
    return secrets.randbelow(2**63)


def max_threads() -> int:
    """The most CPU threads a job may ask for: ``THREADS_PER_CORE`` per core of this machine."""
    return THREADS_PER_CORE * (os.cpu_count() or 1)


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_samples(num_samples: object, name: str = "num_samples", limit: int = MAX_SAMPLES) -> int:
    if not is_int(num_samples) or not 1 <= num_samples <= limit:
        raise ValueError(f"{name} must be an integer in [1, {limit}], got {num_samples!r}")
    return num_samples


def check_temperature(temperature: object, name: str = "temperature") -> float:
    if (isinstance(temperature, bool) or not isinstance(temperature, (int, float))
            or not MIN_TEMPERATURE <= temperature <= MAX_TEMPERATURE):
        raise ValueError(f"{name} must be a number in [{MIN_TEMPERATURE:g}, {MAX_TEMPERATURE:g}], "
                         f"got {temperature!r}")
    return float(temperature)


def check_seed(seed: object, name: str = "seed") -> int | None:
    """None (a fresh random seed) or an int in [0, ``MAX_SEED``]."""
    if seed is not None and (not is_int(seed) or not 0 <= seed <= MAX_SEED):
        raise ValueError(f"{name} must be an integer in [0, 2**64 - 1] or None, got {seed!r:.40}")
    return seed


def check_threads(threads: object, name: str = "threads") -> int | None:
    """None (torch's own setting) or an int in [1, ``max_threads()``]."""
    if threads is not None and (not is_int(threads) or not 1 <= threads <= max_threads()):
        raise ValueError(f"{name} must be an integer in [1, {max_threads()}] ({THREADS_PER_CORE} per core "
                         f"of this machine) or None, got {threads!r}")
    return threads


def check_hint_count(count: int, where: str = "hints") -> None:
    if count > MAX_HINTS:
        raise ValueError(f"{where}: {count} hints; at most {MAX_HINTS} per photo")


def check_megapixels(megapixels: object, name: str = "max_megapixels") -> int:
    """A user's raised pixel limit in megapixels → pixels."""
    if isinstance(megapixels, bool) or not isinstance(megapixels, (int, float)) or not (
            math.isfinite(megapixels) and megapixels > 0):
        raise ValueError(f"{name} must be a number > 0, got {megapixels!r}")
    return int(megapixels * 1_000_000)
