"""The Gradio page: upload a photo, get several plausible colorizations of its gray.

    python -m webui [--checkpoint RUN_DIR]        # then open http://127.0.0.1:7860

With a model trained with colour hints (the shipped one), a click on the
hint view places a point of the chosen colour; the points are listed, as
JSON, in the hints box, where they can be edited or removed, and every
colorization honours them (``Colorizer.colorize(hints=...)``).

Thin by design (docs/architecture.md): every colorization is one ``Colorizer.colorize``
call. This module only turns the page's controls into its arguments, and its
errors into one-line messages. It works with no internet: analytics, the
version check, share links, server-side rendering and the MCP server are off,
and the theme uses the fonts that ship with Gradio.

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
import numpy as np  # noqa: E402
import torch  # noqa: E402
from gradio import processing_utils, utils  # noqa: E402
from gradio_client import utils as client_utils  # noqa: E402
from PIL import Image  # noqa: E402

from colorize.color import gray_rgb  # noqa: E402
from colorize.colorizer import Colorizer  # noqa: E402
from colorize.device import DEVICE_CHOICES  # noqa: E402
from colorize.hints import draw_hints, parse_colour, parse_hint_list, parse_json  # noqa: E402
from colorize.fullres import STRIP_PIXELS, lightness_of  # noqa: E402
from colorize.image_io import (  # noqa: E402
    ImageTooLarge,
    UnreadableImage,
    load_within,
    open_image,
    pil_to_rgb,
    tensor_to_uint8,
)
from colorize.limits import (  # noqa: E402
    MAX_HINTS_FILE_BYTES,
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
GRAY_MODES = ("1", "L", "I", "I;16", "I;16B", "I;16L", "F")
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


def is_gray(path: str) -> bool:
    """True for a single-channel image or an RGB one whose three channels are equal."""
    with open_image(path, MAX_PIXELS) as img:
        if img.mode in GRAY_MODES:
            return True
        if img.mode != "RGB":
            return False
        rgb = np.asarray(load_within(img, Path(path).name))
    return bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())


def gray_version(path: str) -> Image.Image:
    """The photo as the colorizer sees it: its CIE lightness L, with zero chroma, as 8-bit gray.

    In strips of rows, from the 8-bit decode: whole-image float copies of a
    50-megapixel photo would take gigabytes.
    """
    with open_image(path, MAX_PIXELS) as img:
        rgb = np.asarray(pil_to_rgb(load_within(img, Path(path).name)))
    lightness = lightness_of(rgb, torch.device("cpu"))  # (1, 1, H, W) in [0, 100]
    del rgb
    height, width = lightness.shape[-2:]
    gray = np.empty((height, width), dtype=np.uint8)
    rows = max(1, STRIP_PIXELS // width)
    for top in range(0, height, rows):
        gray[top:top + rows] = tensor_to_uint8(gray_rgb(lightness[0, :, top:top + rows]))[..., 0]
    return Image.fromarray(gray, mode="L")


def parse_hints_text(text: str | None) -> list:
    """The hints box's JSON, ``[[x, y, "#rrggbb"], ...]``, as a list; blank is none."""
    text = "" if text is None else str(text).strip()
    if not text:
        return []
    if len(text) > MAX_HINTS_FILE_BYTES:
        raise gr.Error(f"the hints are longer than {MAX_HINTS_FILE_BYTES // 2**20} MiB")
    try:
        return parse_hint_list(parse_json(text), "the hints")
    except json.JSONDecodeError:
        raise gr.Error('the hints must be JSON: [[x, y, "#rrggbb"], ...], as a click writes them') from None
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


def build_app(
    colorizer: Colorizer,
    *,
    examples_dir: str | Path | None = DEFAULT_EXAMPLES_DIR,
    queue_size: int = QUEUE_SIZE,
) -> gr.Blocks:
    """The page for ``colorizer``: photo and controls, a gallery of results, sample photos.

    ``examples_dir``: where scikit-image's sample photos are written; None
    leaves the examples out. The colorize event is also an API endpoint,
    ``/colorize`` (see the page's "Use via API" link).
    """

    # Both events take their inputs unprocessed (see ``upload_path``) and check them here.
    def show_gray(photo: dict | None):
        """After an upload or an example click, replace a colour photo by its gray.

        A bad upload is a one-line warning and an empty photo box (not a
        broken-image icon); the next upload starts clean.
        """
        path = None
        try:
            path = upload_path(photo)
            if path is None or is_gray(path):
                return gr.skip()  # also ends the chain: the gray we return triggers this once more
            gray = gray_version(path)
        except gr.Error as err:
            gr.Warning(err.message)
            return None
        except (ValueError, TypeError, OSError) as err:
            gr.Warning(one_line(err, path))
            return None
        finally:
            release_memory()
        return save_png(gray, visitor_folder(photo_box.GRADIO_CACHE), file_stem(photo))  # keeps the photo's name

    def colorize(photo: dict | None, num_samples: int, temperature: float, seed: str | None,
                 pick: str = "as drawn", hints: str | None = "", progress=gr.Progress(track_tqdm=True)):
        """Colorize the photo; returns the gallery's (image, caption) pairs and the seed used.
        ``hints``: the hints box's JSON, ``[[x, y, "#rrggbb"], ...]`` in the photo's pixels.

        Each sample is written to its file as it is made, so one full-size
        image at a time is held; the sampler's progress bar shows on the page.
        Each caption gives the sample's bits/dim (lower: more likely to the model).
        """
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
        points = parse_hints_text(hints)
        stem, results, folder = file_stem(photo), [], visitor_folder(gallery.GRADIO_CACHE)
        try:
            scored = colorizer.iter_colorize_scored(path, num_samples=num_samples, temperature=temperature,
                                                    seed=seed, select=select, draws=draws, progress=True,
                                                    hints=points or None)
            for n, sample in enumerate(progress.tqdm(scored, total=num_samples, desc="full resolution")):
                results.append((save_png(sample.image, folder, f"{stem}_seed{seed}_{n + 1}"),
                                f"sample {n + 1} · seed {seed} · {sample.bits_per_dim:.3f} bits/dim"))
                del sample
        except (ValueError, TypeError, FileNotFoundError) as err:
            raise gr.Error(one_line(err, path)) from err
        except Exception as err:  # a bug or out of memory: logged in full, one line on the page
            log.exception("colorization failed")
            raise gr.Error(f"colorization failed: {type(err).__name__}: {one_line(err, path)}") from err
        finally:
            release_memory()
        return results, str(seed)

    def more_like_this(photo: dict | None, num_samples: int, temperature: float, seed_shown, pick: str,
                       hints: str | None = "", progress=gr.Progress(track_tqdm=True)):
        """The last run's seed again at a lower temperature: the same draws, pulled towards
        the most likely colours. Returns the gallery, the seed and the new temperature."""
        if seed_shown is None or not str(seed_shown).strip():
            raise gr.Error("Colorize first: this samples the shown seed again, cooler.")
        cooler = max(MIN_TEMPERATURE, round(check_number(
            temperature, "the temperature", MIN_TEMPERATURE, MAX_TEMPERATURE) * COOLER, 2))
        results, seed = colorize(photo, num_samples, cooler, str(seed_shown), pick, hints, progress)
        return results, seed, cooler

    def check_request(photo: dict | None, num_samples: int, temperature: float, seed: str | None,
                      pick: str = "as drawn", hints: str | None = ""):
        """Runs before a colorization: a bad field is marked on its own box and nothing
        runs, so the gallery keeps the last results (a seed typo no longer wipes them)."""
        def check_photo():
            if upload_path(photo) is None:
                raise gr.Error("Upload a photo first, or click one of the sample photos.")

        def check_pick():
            if pick not in PICKS:
                raise gr.Error(f"pick must be one of {', '.join(PICKS)}, got {str(pick)[:40]!r}")

        checks = [check_photo,
                  lambda: check_number(num_samples, "the number of samples", 1, MAX_SAMPLES, whole=True),
                  lambda: check_number(temperature, "the temperature", MIN_TEMPERATURE, MAX_TEMPERATURE),
                  lambda: parse_seed(seed), check_pick, lambda: parse_hints_text(hints)]
        return [gr.validate(not message, message) for message in map(problem_of, checks)]

    def check_more(photo: dict | None, num_samples: int, temperature: float, seed_shown: str | None,
                   pick: str = "as drawn", hints: str | None = ""):
        """``check_request`` for "More like this", which needs a seed shown by an earlier run."""
        verdicts = check_request(photo, num_samples, temperature, seed_shown, pick, hints)
        if seed_shown is None or not str(seed_shown).strip():
            verdicts[3] = gr.validate(False, "Colorize first: this samples the shown seed again, cooler.")
        return verdicts

    def show_hints(photo: dict | None, hints: str | None):
        """The hint view for the photo and the hints box's points; a bad box is a warning."""
        try:
            path = upload_path(photo)
            if path is None:
                return None
            view, width, _ = photo_view(path)
            return draw_hints(view, parse_hints_text(hints), scale=view.width / width)
        except gr.Error as err:
            gr.Warning(err.message)
            return gr.skip()
        except (ValueError, OSError) as err:
            gr.Warning(one_line(err))
            return gr.skip()
        finally:
            release_memory()

    def new_photo(photo: dict | None):
        """A new photo starts with no hints: points placed on another photo mean nothing here."""
        return "", show_hints(photo, "")

    def add_hint(photo: dict | None, hints: str | None, colour: str | None, event: gr.SelectData):
        """A click on the hint view: one more point, of the picked colour, under the click."""
        path = upload_path(photo)
        if path is None:
            raise gr.Error("Upload a photo first, then click on it to place a hint.")
        points, colour = parse_hints_text(hints), picked_colour(colour)
        try:
            view, width, height = photo_view(path)
        finally:
            release_memory()
        x, y = view_to_photo(event.index, view, width, height)
        points.append((x, y, colour))
        return hints_text(points), draw_hints(view, points, scale=view.width / width)

    def remove_last_hint(photo: dict | None, hints: str | None):
        points = parse_hints_text(hints)[:-1]
        return hints_text(points), show_hints(photo, hints_text(points))

    with gr.Blocks(title="colorize", analytics_enabled=False, delete_cache=DELETE_CACHE) as app:
        gr.Markdown(
            "# colorize\n"
            "Several plausible colorizations of a grayscale photo: a conditional PixelCNN "
            "samples the colours (PixColor), the photo's own lightness is kept at full resolution. "
            "Colour photos are turned gray first."
        )
        with gr.Row():
            with gr.Column(scale=1):
                photo_box = gr.Image(
                    label="Photo (gray, as the model sees it)", type="filepath", format="png",
                    sources=["upload", "clipboard"], height=360, elem_id="photo",
                )
                samples = gr.Slider(1, MAX_SAMPLES, value=DEFAULT_SAMPLES, step=1, precision=0,
                                    label="Samples", elem_id="samples")
                temperature = gr.Slider(MIN_TEMPERATURE, MAX_TEMPERATURE, value=1.0, step=0.05,
                                        label="Temperature", info="lower: safer, less varied colours",
                                        elem_id="temperature")
                # A text box, not gr.Number: a blank number field is sent as 0.
                seed = gr.Textbox(value="", label="Seed", placeholder="blank: a random one",
                                  info=f"an integer from 0 to {MAX_SEED}; the same seed gives "
                                       "the same colorizations", max_lines=1, elem_id="seed")
                pick = gr.Radio(list(PICKS), value="as drawn", label="Pick",
                                info=f"most likely / most different: the best of {DRAWS_PER_SAMPLE}× "
                                     "as many samples", elem_id="pick")
                # Shown only for a model trained with hints: any other refuses them.
                with gr.Group(visible=colorizer.model.config.hints):
                    hint_image = gr.Image(
                        label="Hints: click to place a point of the colour below", type="pil",
                        format="png", interactive=False, height=300, elem_id="hint-view",
                        buttons=[],
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
                button = gr.Button("Colorize", variant="primary", elem_id="colorize")
                # The shown seed again at a lower temperature: the same draws, safer colours.
                more = gr.Button("More like this", elem_id="more")
                if examples_dir is not None:
                    gr.Examples(
                        examples=[[str(path)] for path in save_examples(Path(examples_dir))],
                        inputs=[photo_box], label="Sample photos (scikit-image; colorized from their gray)",
                    )
            with gr.Column(scale=2):
                gallery = gr.Gallery(
                    label="Colorizations", format="png",
                    columns=3, object_fit="contain", interactive=False,
                    buttons=["download", "download_all", "fullscreen"], elem_id="results",
                )
                # A text box: a gr.Number with no value yet would show 0.
                seed_used = gr.Textbox(value="", label="Seed used", interactive=False, max_lines=1,
                                       placeholder="none yet",
                                       info="type it in the seed box to get these images again",
                                       elem_id="seed-used")
        local_uploads_only(photo_box)
        # Its own small pool: showing the gray of an upload should not wait behind colorizations.
        photo_box.change(show_gray, inputs=photo_box, outputs=photo_box, preprocess=False,
                         api_visibility="private", show_progress="hidden", concurrency_limit=2)
        photo_box.change(new_photo, inputs=photo_box, outputs=[hints_box, hint_image], preprocess=False,
                         api_visibility="private", show_progress="hidden", concurrency_limit=2)
        hint_image.select(add_hint, inputs=[photo_box, hints_box, hint_colour], outputs=[hints_box, hint_image],
                          preprocess=False, api_visibility="private", show_progress="hidden",
                          concurrency_limit=2)
        hints_box.blur(show_hints, inputs=[photo_box, hints_box], outputs=hint_image, preprocess=False,
                       api_visibility="private", show_progress="hidden", concurrency_limit=2)
        remove_last.click(remove_last_hint, inputs=[photo_box, hints_box], outputs=[hints_box, hint_image],
                          preprocess=False, api_visibility="private", show_progress="hidden",
                          concurrency_limit=2)
        remove_all.click(new_photo, inputs=photo_box, outputs=[hints_box, hint_image], preprocess=False,
                         api_visibility="private", show_progress="hidden", concurrency_limit=2)
        button.click(colorize, inputs=[photo_box, samples, temperature, seed, pick, hints_box],
                     outputs=[gallery, seed_used], preprocess=False, api_name="colorize",
                     validator=check_request)
        more.click(more_like_this, inputs=[photo_box, samples, temperature, seed_used, pick, hints_box],
                   outputs=[gallery, seed_used, temperature], preprocess=False, api_name="more_like_this",
                   validator=check_more)

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
