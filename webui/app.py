"""The Gradio page: upload a photo, get several plausible colorizations of its gray.

    python -m webui [--checkpoint RUN_DIR]        # then open http://127.0.0.1:7860

Thin by design (docs/architecture.md): every colorization is one ``Colorizer.colorize``
call. This module only turns the page's controls into its arguments, and its
errors into one-line messages. It works with no internet: analytics, the
version check, share links, server-side rendering and the MCP server are off,
and the theme uses the fonts that ship with Gradio.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import secrets
import sys
import tempfile
from pathlib import Path

# Before gradio is imported: it starts its analytics and version-check
# requests from import and Blocks() time, which would hang or fail offline.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402
from gradio import processing_utils  # noqa: E402
from PIL import Image, UnidentifiedImageError  # noqa: E402

from colorize.color import gray_rgb, rgb_to_gray  # noqa: E402
from colorize.colorizer import Colorizer  # noqa: E402
from colorize.device import DEVICE_CHOICES  # noqa: E402
from colorize.image_io import load_image, tensor_to_pil  # noqa: E402

log = logging.getLogger(__name__)

MAX_SAMPLES = 16
DEFAULT_SAMPLES = 4
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.1, 2.0
# Seeds the page draws and accepts: exact in a browser's float64 numbers.
MAX_SEED = 2**32 - 1
# Limits for a shared server: the upload size, the requests waiting in the
# queue, and one colorization at a time (one call already uses every core).
MAX_FILE_SIZE = "50mb"
QUEUE_SIZE = 32
CONCURRENCY = 1
# Uploads and results older than an hour are deleted, checked every hour.
DELETE_CACHE = (3600, 3600)

# scikit-image's colour sample photos: the clickable examples (never training data).
EXAMPLES = ("chelsea", "coffee", "astronaut", "rocket")
DEFAULT_EXAMPLES_DIR = Path(tempfile.gettempdir()) / "colorize-webui-examples"
GRAY_MODES = ("1", "L", "I", "I;16", "I;16B", "I;16L", "F")


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


def upload_path(payload: dict | None) -> str | None:
    """The server-side path of an uploaded photo; a one-line error if it is not an image.

    The events take their inputs unprocessed (``preprocess=False``): Gradio's
    own image preprocessing turns an unreadable upload into a generic "Error"
    with a trace in the log, and a user needs to hear what was wrong.
    """
    if payload is None:
        return None
    path = payload["path"]
    name = payload.get("orig_name") or Path(path).name
    try:
        with Image.open(path):
            pass
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as err:
        raise gr.Error(f"{name} is not an image that can be read ({type(err).__name__}); "
                       "upload a PNG, JPEG, WebP, BMP or TIFF photo") from None
    return path


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


def parse_seed(text: str | int | None) -> int:
    """The seed box's text as an int; blank draws a random one."""
    text = "" if text is None else str(text).strip()
    if not text:
        return secrets.randbelow(MAX_SEED + 1)
    try:
        seed = int(text)
    except ValueError:
        raise gr.Error(f"the seed must be a whole number, got {text[:40]!r}") from None
    if not 0 <= seed <= MAX_SEED:
        raise gr.Error(f"the seed must lie in [0, {MAX_SEED}], got {seed}")
    return seed


def is_gray(path: str) -> bool:
    """True for a single-channel image or an RGB one whose three channels are equal."""
    with Image.open(path) as img:
        if img.mode in GRAY_MODES:
            return True
        if img.mode != "RGB":
            return False
        rgb = np.asarray(img)
    return bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())


def gray_version(path: str) -> Image.Image:
    """The photo as the colorizer sees it: its CIE lightness L, with zero chroma."""
    lightness = rgb_to_gray(load_image(path))  # (1, H, W) in [0, 100]
    return tensor_to_pil(gray_rgb(lightness))


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
        """After an upload or an example click, replace a colour photo by its gray."""
        path = upload_path(photo)
        if path is None or is_gray(path):
            return gr.skip()  # also ends the chain: the gray we return triggers this once more
        try:
            gray = gray_version(path)
        except (ValueError, TypeError, FileNotFoundError) as err:
            raise gr.Error(one_line(err, path)) from err
        return save_png(gray, photo_box.GRADIO_CACHE, file_stem(photo))  # keeps the photo's name

    def colorize(photo: dict | None, num_samples: int, temperature: float, seed: str | None):
        """Colorize the photo; returns the gallery's (image, caption) pairs and the seed used."""
        path = upload_path(photo)
        if path is None:
            raise gr.Error("Upload a photo first, or click one of the sample photos.")
        num_samples = check_number(num_samples, "the number of samples", 1, MAX_SAMPLES, whole=True)
        temperature = check_number(temperature, "the temperature", MIN_TEMPERATURE, MAX_TEMPERATURE)
        seed = parse_seed(seed)
        try:
            images = colorizer.colorize(path, num_samples=num_samples, temperature=temperature, seed=seed)
        except (ValueError, TypeError, FileNotFoundError) as err:
            raise gr.Error(one_line(err, path)) from err
        except Exception as err:  # a bug or out of memory: logged in full, one line on the page
            log.exception("colorization failed")
            raise gr.Error(f"colorization failed: {type(err).__name__}: {one_line(err, path)}") from err
        stem = file_stem(photo)
        return [(save_png(image, gallery.GRADIO_CACHE, f"{stem}_seed{seed}_{n + 1}"),
                 f"sample {n + 1} · seed {seed}") for n, image in enumerate(images)], seed

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
                button = gr.Button("Colorize", variant="primary", elem_id="colorize")
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
                seed_used = gr.Number(label="Seed used", precision=0, interactive=False,
                                      info="type it in the seed box to get these images again",
                                      elem_id="seed-used")
        # Its own small pool: showing the gray of an upload should not wait behind colorizations.
        photo_box.change(show_gray, inputs=photo_box, outputs=photo_box, preprocess=False,
                         api_visibility="private", show_progress="hidden", concurrency_limit=2)
        button.click(colorize, inputs=[photo_box, samples, temperature, seed], outputs=[gallery, seed_used],
                     preprocess=False, api_name="colorize")

    return app.queue(max_size=queue_size, default_concurrency_limit=CONCURRENCY)


def launch(app: gr.Blocks, host: str = "127.0.0.1", port: int | None = 7860, *,
           block: bool = True, quiet: bool = False) -> gr.Blocks:
    """Serve ``app`` offline on ``host:port``; ``block=False`` returns once it is up (tests)."""
    app.launch(
        server_name=host, server_port=port, share=False, max_file_size=MAX_FILE_SIZE,
        ssr_mode=False, mcp_server=False, inbrowser=False, show_error=False,
        prevent_thread_lock=not block, quiet=quiet,
    )
    return app


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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        colorizer = Colorizer.from_pretrained(args.checkpoint, device=args.device)
    except (FileNotFoundError, ValueError, RuntimeError) as err:
        print(f"python -m webui: error: {one_line(err)}", file=sys.stderr)
        return 2
    launch(build_app(colorizer), args.host, args.port)
    return 0
