"""The Gradio page: upload a photo, get several plausible colorizations of it.

    python -m webui [--checkpoint RUN_DIR]        # then open http://127.0.0.1:7860

The photo, the Colorize button and the results fit the first screen; the
settings and the colour hints wait in collapsed panels. A slider compares the
selected result with the photo as it was uploaded. A map shows where the
samples disagree, the colours the model is unsure of, and suggests the points
where a colour hint would settle the most (:mod:`colorize.uncertainty`); one
click takes them into the hints, coloured as the selected result has them.
With a model trained with colour hints (the shipped one), a click on the hint
view places a point of the chosen colour; the points are listed, as JSON, in
the hints box, where they can be edited or removed, and every colorization
honours them (``Colorizer.colorize(hints=...)``).

Thin by design (docs/architecture.md): it imports only the public API of
``colorize``, its photo reader and its table of limits
(``tests/test_structure.py`` checks it), and every colorization is one
``Colorizer`` call on the uploaded file itself, so the page, the CLI and the
API give the same pixels for the same photo, seed and settings. This module
only turns the page's controls into its arguments, and its errors into one
line next to the button. It works with no internet: analytics, the version
check, share links, server-side rendering and the MCP server are off, and the
theme uses the fonts that ship with Gradio.

For a shared server: every file the page writes (uploads, results, the
sample photos) lives in a private folder made for this server (mode 0700,
removed at exit), unless ``GRADIO_TEMP_DIR`` names another; Gradio's run
history is off; an upload must be a file in that folder (a URL is never
fetched); a photo above ``MAX_MEGAPIXELS`` is refused before it is decoded;
and each sample is written to its file as it is made, so at most one
full-size output exists at a time.
"""

from __future__ import annotations

import argparse
import atexit
import ctypes
import gc
import json
import logging
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import zipfile
from pathlib import Path


def private_folder() -> Path:
    """A new folder only this user can enter (mkdtemp: mode 0700), removed when the server exits."""
    folder = Path(tempfile.mkdtemp(prefix="colorize-webui-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


# Before gradio is imported: it starts its analytics and version-check
# requests from import and Blocks() time, which would hang or fail offline,
# and it reads its upload and cache folder then. In the shared temporary
# folder, other local users could read the results or plant links there.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
PRIVATE_DIR = private_folder()
os.environ.setdefault("GRADIO_TEMP_DIR", str(PRIVATE_DIR / "gradio"))

import gradio as gr  # noqa: E402
from gradio import processing_utils, utils  # noqa: E402
from gradio_client import utils as client_utils  # noqa: E402
from PIL import Image  # noqa: E402

from colorize import (  # noqa: E402
    DEVICE_CHOICES,
    Colorizer,
    SpreadAccumulator,
    draw_hints,
    parse_colour,
    parse_hints_text,
    spread_backdrop,
    spread_overlay,
    suggest_hints,
)
from colorize.image_io import ImageTooLarge, UnreadableImage, load_within, open_image, pil_to_rgb  # noqa: E402
from colorize.limits import (  # noqa: E402
    MAX_PIXELS,
    MAX_SEED,
    MAX_TEMPERATURE,
    MIN_TEMPERATURE,
    PAGE_MAX_SAMPLES,
    check_threads,
    max_threads,
    random_seed,
)

log = logging.getLogger(__name__)

MAX_SAMPLES = PAGE_MAX_SAMPLES  # the page's one worker serves every visitor (colorize.limits)
DEFAULT_SAMPLES = 4
# "Pick": the page's words for colorize.selection's choices; "most likely" and
# "most different" keep the N of 4 N draws.
PICKS = {"as drawn": "drawn", "most likely": "likely", "most different": "diverse"}
DRAWS_PER_SAMPLE = 4
# "More like this" samples the same seed again at this fraction of the temperature.
COOLER = 0.6
# Limits for a shared server: the upload size, the requests waiting in the
# queue, and one colorization at a time (one call already uses every core).
MAX_FILE_SIZE = "50mb"
QUEUE_SIZE = 32
CONCURRENCY = 1
# Uploads and results older than an hour are deleted, checked every hour.
DELETE_CACHE = (3600, 3600)
# The largest photo the page takes (colorize.limits.MAX_PIXELS). Decoding one holds
# 3 bytes a pixel, its lightness 4 and one output 3: about 0.5 GB at 50 megapixels.
MAX_MEGAPIXELS = MAX_PIXELS // 1_000_000

# scikit-image's colour sample photos: the clickable examples (never training data).
EXAMPLES = ("chelsea", "coffee", "astronaut", "rocket")
DEFAULT_EXAMPLES_DIR = PRIVATE_DIR / "examples"
# The hint view shows the photo this many pixels on its longer side; clicks are scaled back.
HINT_VIEW_SIDE = 768
DEFAULT_HINT_COLOUR = "#c83232"


def file_stem(payload: dict) -> str:
    """The uploaded file's name without extension, safe in a download's file name."""
    name = Path(payload.get("orig_name") or payload["path"]).stem
    return re.sub(r"[^\w-]+", "_", name)[:60].strip("_") or "photo"


def save_png(image: Image.Image, cache_dir: str, name: str) -> str:
    """``image`` as ``name``.png in Gradio's cache: the file a download gets, named, at full size.

    Gradio serves it as is (it is already in its cache) and deletes it with the
    app's other temporary files.
    """
    return processing_utils.save_pil_to_cache(image, cache_dir=cache_dir, name=name, format="png")


def visitor_folder(cache_dir: str) -> str:
    """A new folder under ``cache_dir`` with an unguessable name, for one request's results.

    Gradio names a cached file by its content's hash, which anyone who can
    recompute the output (the same photo and seed) could guess; under a
    random 128-bit folder a result URL is known only to the browser it was sent to.
    """
    return os.path.join(cache_dir, secrets.token_hex(16))


def upload_path(payload: dict | None) -> str | None:
    """The server-side path of an uploaded photo; a one-line error if it is not an image.

    The events take their inputs unprocessed (``preprocess=False``): Gradio's
    own image preprocessing turns an unreadable upload into a generic "Error"
    with a trace in the log, and a user needs to hear what was wrong.
    """
    if payload is None:
        return None
    path = str(payload.get("path") or "")
    name = payload.get("orig_name") or Path(path).name
    # Gradio has already moved an upload into its own folder; anything else
    # (a URL, a path elsewhere on the server, a link out of the folder) is refused.
    local = Path(utils.abspath(path)) if path and not client_utils.is_http_url_like(path) else None
    if local is None or local.is_symlink() or not local.is_file() \
            or not utils.is_in_or_equal(str(local.resolve()), str(Path(utils.get_upload_folder()).resolve())):
        raise gr.Error(f"{name or 'the photo'} is not an uploaded file; upload the photo itself")
    try:
        with open_image(local, MAX_PIXELS):
            pass  # the header alone: its size is checked, nothing decoded
    except ImageTooLarge as err:
        raise gr.Error(f"{name} is {err.width}×{err.height} pixels ({err.width * err.height / 1e6:.0f} "
                       f"megapixels); the page takes photos of up to {MAX_MEGAPIXELS} megapixels") from None
    except UnreadableImage as err:
        raise gr.Error(f"{name}: {err.reason}") from None
    return str(local)


def check_number(value, name: str, low: float, high: float, whole: bool = False) -> float:
    """``value`` as a number in [low, high] (a whole one if ``whole``), else a one-line error."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value <= high
    if not ok or (whole and value != int(value)):
        kind = "a whole number" if whole else "a number"
        raise gr.Error(f"{name} must be {kind} from {low:g} to {high:g}, got {value!r}")
    return int(value) if whole else float(value)


def one_line(err: Exception, path: str | None = None) -> str:
    """The error's message on one line, the server-side upload path shortened to the file's name."""
    message = " ".join(str(err).split()) or type(err).__name__
    if path:
        message = message.replace(str(path), Path(path).name)
    return message


def save_examples(folder: Path) -> list[Path]:
    """Write scikit-image's sample photos as PNGs (``gr.Examples`` takes files); kept between runs."""
    import skimage.data

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in EXAMPLES:
        path = folder / f"{name}.png"
        if not path.is_file():
            # Written under a temporary name first: two servers may start at once.
            partial = folder / f".{name}.{os.getpid()}.png"
            Image.fromarray(getattr(skimage.data, name)()).save(partial)
            partial.replace(path)
        paths.append(path)
    return paths


def problem_of(check) -> str:
    """The one-line message of the ``gr.Error`` that ``check()`` raises; "" when it passes."""
    try:
        check()
    except gr.Error as err:
        return err.message
    return ""


def parse_seed(text: str | int | None) -> int:
    """The seed box's text as an int; blank draws a random one."""
    text = "" if text is None else str(text).strip()
    if not text:
        return random_seed()
    try:
        seed = int(text)
    except ValueError:
        raise gr.Error(f"the seed must be a whole number, got {text[:40]!r}") from None
    if not 0 <= seed <= MAX_SEED:
        raise gr.Error(f"the seed must lie in [0, {MAX_SEED}], got {text[:40]}")
    return seed


def parse_hints(text: str | None) -> list:
    """The hints box's JSON, ``[[x, y, "#rrggbb"], ...]``, as a list (:func:`colorize.parse_hints_text`)."""
    try:
        return parse_hints_text(text)
    except ValueError as err:
        raise gr.Error(str(err)) from None


def hints_text(hints: list) -> str:
    """The hints box's text for ``hints``: one point per line."""
    if not hints:
        return ""
    rows = [json.dumps([x, y, colour if isinstance(colour, str) else list(colour)]) for x, y, colour in hints]
    return "[" + ",\n ".join(rows) + "]"


def picked_colour(value: str | None) -> str:
    """The colour picker's value ("#rrggbb", or "rgb(r, g, b)"/"rgba(...)" in some browsers) as "#rrggbb"."""
    text = str(value or "").strip()
    match = re.fullmatch(r"rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*(?:,\s*[\d.]+\s*)?\)", text)
    if match:
        text = "#" + "".join(f"{min(255, round(float(v))):02x}" for v in match.groups())
    try:
        r, g, b = parse_colour(text)
    except ValueError as err:
        raise gr.Error(f"the hint colour: {err}") from None
    return f"#{r:02x}{g:02x}{b:02x}"


def photo_view(path: str) -> tuple[Image.Image, int, int]:
    """The photo upright, as the colorizer sees it, in gray with its longer side
    ``HINT_VIEW_SIDE``; and its full (width, height).

    A small photo is enlarged too: Gradio maps a click on an image shown larger than
    its own size as if it were shown at that size, off to the side.
    """
    with open_image(path, MAX_PIXELS) as img:
        view = pil_to_rgb(load_within(img, Path(path).name)).convert("L")
    width, height = view.size
    scale = HINT_VIEW_SIDE / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return view.resize(size, Image.Resampling.NEAREST if scale > 1 else Image.Resampling.LANCZOS), width, height


def view_to_photo(view_xy, view: Image.Image, width: int, height: int) -> tuple[int, int]:
    """A click at ``view_xy`` (x, y) on the view → the pixel (x, y) of the photo under it."""
    scale = width / view.width
    x = min(max(int((view_xy[0] + 0.5) * scale), 0), width - 1)
    y = min(max(int((view_xy[1] + 0.5) * scale), 0), height - 1)
    return x, y


def release_memory() -> None:
    """Hand the memory of a finished request back to the system (glibc keeps freed blocks)."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


def local_uploads_only(block: gr.components.Component) -> None:
    """Make ``block`` refuse to fetch a URL that a request names as its file (Gradio would)."""
    move = block.async_move_resource_to_block_cache

    async def refuse_urls(url_or_file_path):
        if url_or_file_path is not None and client_utils.is_http_url_like(str(url_or_file_path)):
            raise gr.Error("the photo must be uploaded as a file; this page fetches no URLs")
        return await move(url_or_file_path)

    block.async_move_resource_to_block_cache = refuse_urls


class HideServerPaths:
    """ASGI middleware: Gradio's refusal of a file that a request names but did not upload
    ("Cannot move /srv/…/file:/etc/x to the gradio cache dir …") gives the server's paths and
    working folder; the page answers the same 400 with a message that names none."""

    REFUSAL = b"Cannot move "
    MESSAGE = b'{"detail":"the photo must be a file uploaded to this page"}'

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        held: list[dict] = []

        async def send_hiding(message):
            if message["type"] == "http.response.start" and message["status"] == 400:
                held.append(message)  # the body decides whether it is the refusal
                return
            if held and message["type"] == "http.response.body":
                body = message.get("body", b"")
                if self.REFUSAL in body:
                    headers = [(k, v) for k, v in held[0].get("headers", []) if k.lower() != b"content-length"]
                    held[0] = {**held[0], "headers": headers + [(b"content-length", str(len(self.MESSAGE)).encode())]}
                    message = {**message, "body": self.MESSAGE}
                await send(held.pop())
            await send(message)

        await self.app(scope, receive, send_hiding)


def sample_caption(n: int, total: int, select: str) -> str:
    """The caption a person reads under result ``n`` (0-based) of ``total``: "1 of 4 · most likely"."""
    caption = f"{n + 1} of {total}"
    if select != "drawn" and n == 0:
        caption += " · most likely"
    elif select == "diverse":
        caption += " · different"
    return caption


def details_line(seed: int, bits: list[float]) -> str:
    """The line under the results: the seed that gives them again, and how likely each one was."""
    likelihoods = ", ".join(f"{b:.3f}" for b in bits)
    return (f"Seed **{seed}**: type it under Settings to get these colorizations again. "
            f"How likely the model found each, in bits per value (lower: likelier): {likelihoods}.")


def zip_results(paths: list[str], folder: str, stem: str) -> str:
    """The results as ``STEM.zip`` in ``folder``, each file named as ``colorize batch`` names it
    (``STEM_0.png`` …), stored without recompression (PNG is compressed already)."""
    target = os.path.join(folder, f"{stem}.zip")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as archive:
        for path in paths:
            archive.write(path, arcname=Path(path).name)
    return target


def colour_at(path: str, x: int, y: int) -> str:
    """The colour "#rrggbb" of the image at ``path`` at pixel (x, y)."""
    with open_image(path, MAX_PIXELS) as img:
        r, g, b = pil_to_rgb(load_within(img, Path(path).name)).getpixel((x, y))[:3]
    return f"#{r:02x}{g:02x}{b:02x}"


def result_path(item, cache_dir: str) -> str | None:
    """The server path of a gallery item as the browser sends it back, if it is one of the page's
    results (a file under ``cache_dir``); None for anything else, so no request can name a file."""
    image = item.get("image") if isinstance(item, dict) else item[0] if isinstance(item, (list, tuple)) else None
    path = image.get("path") if isinstance(image, dict) else image
    if not isinstance(path, str) or client_utils.is_http_url_like(path):
        return None
    local = Path(utils.abspath(path))
    if local.is_symlink() or not local.is_file() or not utils.is_in_or_equal(str(local.resolve()),
                                                                           str(Path(cache_dir).resolve())):
        return None
    return str(local)


def error_line(message: str) -> str:
    """The status line's text for an error: one line, in words, next to the button."""
    return f"⚠️ {message}"


def build_app(
    colorizer: Colorizer,
    *,
    examples_dir: str | Path | None = DEFAULT_EXAMPLES_DIR,
    queue_size: int = QUEUE_SIZE,
) -> gr.Blocks:
    """The page for ``colorizer``: photo, button and results on the first screen, settings and
    hints in collapsed panels, a before/after slider, the uncertainty map, sample photos.

    ``examples_dir``: where scikit-image's sample photos are written; None
    leaves the examples out. Colorizing is also an API endpoint,
    ``/colorize`` (see the page's "Use via API" link), which raises its
    errors; the page shows the same errors on its status line instead.
    """

    def run(photo: dict | None, num_samples: int, temperature: float, seed: str | None,
            pick: str = "as drawn", hints: str | None = "", progress=None) -> dict:
        """One colorization: every argument checked (a ``gr.Error`` otherwise), each sample
        written to its file as it is made, so one full-size image at a time is held.
        Returns the results, the seed, the details line, the zip and the spread map."""
        path = upload_path(photo)
        if path is None:
            raise gr.Error("Upload a photo first, or click one of the sample photos.")
        num_samples = check_number(num_samples, "the number of samples", 1, MAX_SAMPLES, whole=True)
        temperature = check_number(temperature, "the temperature", MIN_TEMPERATURE, MAX_TEMPERATURE)
        seed = parse_seed(seed)
        if pick not in PICKS:
            raise gr.Error(f"pick must be one of {', '.join(PICKS)}, got {str(pick)[:40]!r}")
        select = PICKS[pick]
        draws = None if select == "drawn" else DRAWS_PER_SAMPLE * num_samples
        points = parse_hints(hints)
        stem, results, bits, folder = file_stem(photo), [], [], visitor_folder(gallery.GRADIO_CACHE)
        spread, base = SpreadAccumulator(), None
        try:
            if progress is not None:
                progress(0, desc="choosing colours…")
            scored = colorizer.iter_colorize_scored(path, num_samples=num_samples, temperature=temperature,
                                                    seed=seed, select=select, draws=draws, hints=points or None)
            for n, sample in enumerate(scored):
                if progress is not None:
                    progress((n + 1) / num_samples, desc=f"colouring {n + 1} of {num_samples}…")
                spread.add(sample.image)
                if base is None:  # the map's backdrop: the photo's own lightness, small
                    base = spread_backdrop(sample.image, spread.spread_size())
                    width, height = sample.image.size
                results.append((save_png(sample.image, folder, f"{stem}_{n}"),
                                sample_caption(n, num_samples, select)))
                bits.append(sample.bits_per_dim)
                del sample
        except (ValueError, TypeError, FileNotFoundError) as err:
            raise gr.Error(one_line(err, path)) from err
        except Exception as err:  # a bug or out of memory: logged in full, one line on the page
            log.exception("colorization failed")
            raise gr.Error(f"colorization failed: {type(err).__name__}: {one_line(err, path)}") from err
        finally:
            release_memory()
        paths = [result for result, _ in results]
        suggested, overlay = [], None
        if num_samples >= 2:  # where the samples disagree, and where a hint would settle most
            spread_map = spread.spread()
            suggested = suggest_hints(spread_map, width, height)
            overlay = spread_overlay(base, spread_map, [(x * base.width / width, y * base.height / height)
                                                        for x, y in suggested])
            overlay = save_png(overlay, folder, f"{stem}_unsure")
        return {"results": results, "seed": str(seed), "details": details_line(seed, bits),
                "zip": zip_results(paths, folder, stem), "compare": (path, paths[0]),
                "spread": overlay, "suggested": json.dumps(suggested)}

    def colorize(photo: dict | None, num_samples: int, temperature: float, seed: str | None,
                 pick: str = "as drawn", hints: str | None = "", progress=gr.Progress()):
        """The API endpoint ``/colorize``: (gallery, seed used, details line); errors raise."""
        done = run(photo, num_samples, temperature, seed, pick, hints, progress)
        return done["results"], done["seed"], done["details"]

    def colorize_on_page(photo: dict | None, num_samples: int, temperature: float, seed: str | None,
                         pick: str = "as drawn", hints: str | None = "", progress=gr.Progress()):
        """The button: the results, or an error on the status line and the last results kept."""
        try:
            done = run(photo, num_samples, temperature, seed, pick, hints, progress)
        except gr.Error as err:
            return [gr.skip()] * 8 + [error_line(err.message)]
        return (done["results"], done["seed"], done["details"], gr.update(value=done["zip"], visible=True),
                done["compare"], gr.update(value=done["spread"]), done["suggested"], 0, "")

    def more_like_this(photo: dict | None, num_samples: int, temperature: float, seed_shown, pick: str,
                       hints: str | None = "", progress=gr.Progress()):
        """The last run's seed again at a lower temperature: the same draws, pulled towards
        the most likely colours. Returns what the button does, and the new temperature."""
        if seed_shown is None or not str(seed_shown).strip():
            return [gr.skip()] * 9 + [error_line("Colorize first: this samples the shown seed again, cooler.")]
        try:
            cooler = max(MIN_TEMPERATURE, round(check_number(
                temperature, "the temperature", MIN_TEMPERATURE, MAX_TEMPERATURE) * COOLER, 2))
        except gr.Error as err:
            return [gr.skip()] * 9 + [error_line(err.message)]
        outputs = colorize_on_page(photo, num_samples, cooler, str(seed_shown), pick, hints, progress)
        failed = outputs[-1] != ""
        return [*outputs[:-1], gr.skip() if failed else cooler, outputs[-1]]

    def check_request(photo: dict | None, num_samples: int, temperature: float, seed: str | None,
                      pick: str = "as drawn", hints: str | None = ""):
        """Runs before an API colorization: a bad field is refused, naming it, and nothing runs."""
        def check_photo():
            if upload_path(photo) is None:
                raise gr.Error("Upload a photo first, or click one of the sample photos.")

        def check_pick():
            if pick not in PICKS:
                raise gr.Error(f"pick must be one of {', '.join(PICKS)}, got {str(pick)[:40]!r}")

        checks = [check_photo,
                  lambda: check_number(num_samples, "the number of samples", 1, MAX_SAMPLES, whole=True),
                  lambda: check_number(temperature, "the temperature", MIN_TEMPERATURE, MAX_TEMPERATURE),
                  lambda: parse_seed(seed), check_pick, lambda: parse_hints(hints)]
        return [gr.validate(not message, message) for message in map(problem_of, checks)]

    def hint_view(path: str | None, hints: list) -> Image.Image | None:
        if path is None:
            return None
        view, width, _ = photo_view(path)
        try:
            return draw_hints(view, hints, scale=view.width / width)
        finally:
            release_memory()

    def show_hints(photo: dict | None, hints: str | None):
        """The hint view for the photo and the hints box's points; a bad box is said on the status line."""
        try:
            return hint_view(upload_path(photo), parse_hints(hints)), ""
        except gr.Error as err:
            return gr.skip(), error_line(err.message)
        except (ValueError, OSError) as err:
            return gr.skip(), error_line(one_line(err))

    def new_photo(photo: dict | None):
        """A new photo (upload, paste, example click, removal): the old results, seed, hints and
        map go. A file the page cannot read is said once, on the status line, and the box emptied."""
        cleared = [[], "", "", gr.update(value=None, visible=False), None, None, "[]", 0, ""]
        path = None
        try:
            path = upload_path(photo)
            view = hint_view(path, [])
        except gr.Error as err:
            return [None, *cleared, None, error_line(err.message)]
        except (ValueError, TypeError, OSError) as err:
            return [None, *cleared, None, error_line(one_line(err, path))]
        # An emptied box (its × or the refusal above) keeps the status line's message.
        return [gr.skip(), *cleared, view, gr.skip() if path is None else ""]

    def add_hint(photo: dict | None, hints: str | None, colour: str | None, event: gr.SelectData):
        """A click on the hint view: one more point, of the picked colour, under the click."""
        try:
            path = upload_path(photo)
            if path is None:
                raise gr.Error("Upload a photo first, then click on it to place a hint.")
            points, colour = parse_hints(hints), picked_colour(colour)
            view, width, height = photo_view(path)
        except gr.Error as err:
            return gr.skip(), gr.skip(), error_line(err.message)
        finally:
            release_memory()
        x, y = view_to_photo(event.index, view, width, height)
        points.append((x, y, colour))
        return hints_text(points), draw_hints(view, points, scale=view.width / width), ""

    def add_suggested(photo: dict | None, hints: str | None, suggested: str, results: list | None, chosen: int):
        """The suggested points into the hints, each coloured as the chosen result has it there."""
        try:
            points = parse_hints(hints)
            path = upload_path(photo)
            spots = json.loads(suggested or "[]")
            if path is None or not spots or not results:
                raise gr.Error("Colorize with 2 samples or more first: the suggestions come from where they differ.")
            source = result_path(results[min(max(int(chosen or 0), 0), len(results) - 1)], gallery.GRADIO_CACHE)
            if source is None:
                raise gr.Error("Colorize again: the results are no longer on the server.")
            points += [(int(x), int(y), colour_at(source, int(x), int(y))) for x, y in spots]
            return hints_text(points), hint_view(path, points), gr.update(open=True), ""
        except gr.Error as err:
            return gr.skip(), gr.skip(), gr.skip(), error_line(err.message)
        except (ValueError, TypeError, IndexError, OSError) as err:
            return gr.skip(), gr.skip(), gr.skip(), error_line(f"the suggested points: {one_line(err)}")
        finally:
            release_memory()

    def remove_last_hint(photo: dict | None, hints: str | None):
        try:
            points = parse_hints(hints)[:-1]
        except gr.Error as err:
            return gr.skip(), gr.skip(), error_line(err.message)
        view, message = show_hints(photo, hints_text(points))
        return hints_text(points), view, message

    def select_result(photo: dict | None, event: gr.SelectData):
        """A click on a result: the slider compares it with the photo as uploaded."""
        try:
            path = upload_path(photo)
        except gr.Error:
            return gr.skip(), gr.skip()
        result = result_path(event.value, gallery.GRADIO_CACHE)
        if path is None or result is None:
            return gr.skip(), gr.skip()
        return (path, result), event.index

    hints_enabled = colorizer.model.config.hints
    with gr.Blocks(title="colorize", analytics_enabled=False, delete_cache=DELETE_CACHE) as app:
        gr.Markdown("## colorize\nUpload a black-and-white photo and get several colourings of it to choose "
                    "from. A colour photo is coloured again from its gray.")
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=300):
                photo_box = gr.Image(label="Your photo", type="filepath", format="png",
                                     sources=["upload", "clipboard"], height=300, elem_id="photo")
                with gr.Row():
                    button = gr.Button("Colorize", variant="primary", elem_id="colorize", scale=2)
                    # The shown seed again at a lower temperature: the same draws, safer colours.
                    more = gr.Button("More like this", elem_id="more", scale=1)
                status = gr.Markdown("", elem_id="status")  # progress and errors, where the user looks
                with gr.Accordion("Settings", open=False, elem_id="settings"):
                    samples = gr.Slider(1, MAX_SAMPLES, value=DEFAULT_SAMPLES, step=1, precision=0,
                                        label="How many colorizations", elem_id="samples")
                    temperature = gr.Slider(MIN_TEMPERATURE, MAX_TEMPERATURE, value=1.0, step=0.05,
                                            label="Boldness", info="lower: safer, less varied colours",
                                            elem_id="temperature")
                    # A text box, not gr.Number: a blank number field is sent as 0.
                    seed = gr.Textbox(value="", label="Seed", placeholder="blank: a new one each time",
                                      info=f"a whole number from 0 to {MAX_SEED}; the same seed gives "
                                           "the same colorizations", max_lines=1, elem_id="seed")
                    pick = gr.Radio(list(PICKS), value="as drawn", label="Order",
                                    info=f"most likely / most different: the best of {DRAWS_PER_SAMPLE}× "
                                         "as many tries", elem_id="pick")
                # Shown only for a model trained with hints: any other refuses them.
                with gr.Accordion("Colour hints", open=False, visible=hints_enabled,
                                  elem_id="hints-panel") as hints_panel:
                    hint_image = gr.Image(
                        label="Click to place a point of the colour below", type="pil",
                        format="png", interactive=False, height=300, elem_id="hint-view", buttons=[],
                    )
                    hint_colour = gr.ColorPicker(value=DEFAULT_HINT_COLOUR, label="Hint colour",
                                                 elem_id="hint-colour")
                    hints_box = gr.Textbox(
                        value="", label="Hints", placeholder="none: click the photo above to add one",
                        info='[x, y, "#rrggbb"] per point, in the photo\'s pixels; edit or delete '
                             "lines freely. The same seed with other hints shows what they change",
                        lines=2, max_lines=8, elem_id="hints",
                    )
                    with gr.Row():
                        remove_last = gr.Button("Remove last point", size="sm", elem_id="hint-remove-last")
                        remove_all = gr.Button("Remove all points", size="sm", elem_id="hint-remove-all")
            with gr.Column(scale=2, min_width=300):
                gallery = gr.Gallery(label="Colorizations: click one to compare it with your photo",
                                     format="png", columns=4, height=300, object_fit="contain",
                                     interactive=False, buttons=["download", "fullscreen"],
                                     elem_id="results")
                details = gr.Markdown("", elem_id="details")
                download_all = gr.DownloadButton("Download all", visible=False, size="sm",
                                                 elem_id="download-all")
                compare = gr.ImageSlider(label="Before / after: drag the handle", type="filepath",
                                         format="png", max_height=400, interactive=False, elem_id="compare")
                with gr.Accordion("Where is it unsure?", open=False, elem_id="unsure-panel"):
                    spread_view = gr.Image(
                        label="Pink: where the colorizations disagree; rings: where a hint would help most",
                        type="filepath", format="png", interactive=False, height=300, buttons=[],
                        elem_id="unsure")
                    use_suggested = gr.Button("Add the ringed points as hints (coloured as the selected "
                                              "result)", size="sm", visible=hints_enabled, elem_id="add-suggested")
                # A text box: a gr.Number with no value yet would show 0.
                seed_used = gr.Textbox(value="", label="Seed used", interactive=False, max_lines=1,
                                       visible=False, elem_id="seed-used")
        suggested = gr.Textbox(value="[]", visible=False, elem_id="suggested")
        chosen = gr.Number(value=0, visible=False, precision=0, elem_id="chosen")
        if examples_dir is not None:
            gr.Examples(examples=[[str(path)] for path in save_examples(Path(examples_dir))],
                        inputs=[photo_box], label="Or try a sample photo (scikit-image)")
        local_uploads_only(photo_box)
        quiet = {"preprocess": False, "api_visibility": "private", "show_progress": "hidden",
                 "concurrency_limit": 2}  # its own small pool: hints should not wait behind colorizations
        photo_box.change(new_photo, inputs=photo_box,
                         outputs=[photo_box, gallery, seed_used, details, download_all, compare, spread_view,
                                  suggested, chosen, hints_box, hint_image, status], **quiet)
        gallery.select(select_result, inputs=photo_box, outputs=[compare, chosen], **quiet)
        hint_image.select(add_hint, inputs=[photo_box, hints_box, hint_colour],
                          outputs=[hints_box, hint_image, status], **quiet)
        hints_box.blur(show_hints, inputs=[photo_box, hints_box], outputs=[hint_image, status], **quiet)
        remove_last.click(remove_last_hint, inputs=[photo_box, hints_box], outputs=[hints_box, hint_image, status],
                          **quiet)
        remove_all.click(lambda photo: ("", *show_hints(photo, "")), inputs=photo_box,
                         outputs=[hints_box, hint_image, status], **quiet)
        use_suggested.click(add_suggested, inputs=[photo_box, hints_box, suggested, gallery, chosen],
                            outputs=[hints_box, hint_image, hints_panel, status], **quiet)
        page_outputs = [gallery, seed_used, details, download_all, compare, spread_view, suggested, chosen]
        button.click(colorize_on_page, inputs=[photo_box, samples, temperature, seed, pick, hints_box],
                     outputs=[*page_outputs, status], preprocess=False, api_visibility="private",
                     show_progress_on=[status, gallery])
        more.click(more_like_this, inputs=[photo_box, samples, temperature, seed_used, pick, hints_box],
                   outputs=[*page_outputs, temperature, status], preprocess=False, api_visibility="private",
                   show_progress_on=[status, gallery])
        # The API: the same colorization, its errors raised (a client needs them as errors).
        api_button = gr.Button(visible=False)
        api_button.click(colorize, inputs=[photo_box, samples, temperature, seed, pick, hints_box],
                         outputs=[gallery, seed_used, details], preprocess=False, api_name="colorize",
                         validator=check_request)

    return app.queue(max_size=queue_size, default_concurrency_limit=CONCURRENCY)


def launch(app: gr.Blocks, host: str = "127.0.0.1", port: int | None = 7860, *,
           block: bool = True, quiet: bool = False) -> gr.Blocks:
    """Serve ``app`` offline on ``host:port``; ``block=False`` returns once it is up (tests)."""
    from starlette.middleware import Middleware

    app.launch(
        server_name=host, server_port=port, share=False, max_file_size=MAX_FILE_SIZE,
        app_kwargs={"middleware": [Middleware(HideServerPaths)]},
        ssr_mode=False, mcp_server=False, inbrowser=False, show_error=False,
        prevent_thread_lock=True, quiet=True, run_history=False,
    )
    if not quiet:  # Gradio's own banner would suggest share=True, which this command cannot do
        print(f"colorize web page on {app.local_url}  (Ctrl-C stops it)", flush=True)
    if block:
        app.block_thread()
    return app


def threads_value(text: str) -> int:
    """An argparse type for --threads: the limit of :func:`colorize.limits.check_threads`."""
    try:
        return check_threads(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer in [1, {max_threads()}], got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m webui",
                                     description="The colorize web page (Gradio), served locally.")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1, this machine only; "
                             "0.0.0.0 for the whole network)")
    parser.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    parser.add_argument("--checkpoint", default=None, metavar="PATH",
                        help="a colorizer checkpoint folder (default: the model shipped in the package)")
    parser.add_argument("--device", default="auto", choices=DEVICE_CHOICES,
                        help="where the model runs (default: auto, CUDA when present)")
    parser.add_argument("--threads", type=threads_value, default=None,
                        help="CPU threads of the large operations; the sampler's loop always runs on one "
                             "(default: torch's, all cores)")
    return parser


def stop_on_signals() -> None:
    """SIGTERM (what a service manager sends) and SIGHUP (a closed terminal) stop the server as
    Ctrl-C does, so that the exit handlers run and the private folder of uploads goes with it."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    stop_on_signals()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        colorizer = Colorizer.from_pretrained(args.checkpoint, device=args.device, threads=args.threads)
    except (FileNotFoundError, ValueError, RuntimeError) as err:
        print(f"python -m webui: error: {one_line(err)}", file=sys.stderr)
        return 2
    launch(build_app(colorizer), args.host, args.port)
    return 0
