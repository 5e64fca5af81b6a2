"""The web page end to end, on a tiny untrained colorizer: a real browser, the API, the errors.

The browser is Debian's chromium driven by playwright (never ``playwright
install``: there is no internet). CI installs chromium; without it the browser
tests are skipped, saying why.

The browser test saves a screenshot of the page. It overwrites the README's
``docs/webui.png`` only when asked, with a trained model and a real photo::

    COLORIZE_SCREENSHOT=1 COLORIZE_SCREENSHOT_CHECKPOINT=runs/pixcolor \\
        python -m pytest tests/test_webui.py -k browser
"""

from __future__ import annotations

import io
import json
import os
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from colorize import Colorizer
from colorize.checkpoint import save_model
from colorize.models.pixcolor import PixColor
from webui import app as webui_app
from webui.app import MAX_MEGAPIXELS, build_app, launch, main

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
WIDTH, HEIGHT = 40, 30  # small, and not square: the results must keep both
SCREENSHOT = os.environ.get("COLORIZE_SCREENSHOT") == "1"
REPO = Path(__file__).resolve().parents[1]
# Gradio's queue calls pandas in ways pandas 3 deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB")).astype(np.int16)


@pytest.fixture(scope="module")
def examples_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("examples")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A tiny untrained model (or, for the screenshot, a given one)."""
    given = os.environ.get("COLORIZE_SCREENSHOT_CHECKPOINT") if SCREENSHOT else None
    if given is not None:
        return Path(given)
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny_colorizer")
    model = PixColor.from_preset("tiny", hints=True)
    with torch.no_grad():  # as if trained: the hints reach the output
        model.refinement.stem_hints.weight.normal_(0, 1.0)
        model.refinement.out.weight.normal_(0, 0.05)
    save_model(folder, model)
    return folder


@pytest.fixture(scope="module")
def server(checkpoint, examples_dir):
    """The app on a free loopback port."""
    colorizer = Colorizer.from_pretrained(checkpoint, device="cpu")
    app = launch(build_app(colorizer, examples_dir=examples_dir), port=free_port(), block=False, quiet=True)
    yield app.local_url.rstrip("/")
    app.close()


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    """A 40×30 colour PNG (for the screenshot, scikit-image's cat instead)."""
    path = tmp_path_factory.mktemp("photos") / "photo.png"
    if SCREENSHOT:
        import skimage.data

        Image.fromarray(skimage.data.chelsea()).save(path)
        return path
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH] / WIDTH
    rgb = np.stack([np.sin(4 * xx + 1), np.cos(3 * yy), np.sin(5 * (xx + yy))], -1)
    Image.fromarray(((rgb + 1) * 127.5).astype(np.uint8)).save(path)
    return path


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    # The page works offline: everything it loads comes from the server itself.
    elsewhere = []
    page.on("request", lambda request: None if request.url.startswith(server) or
            request.url.startswith(("data:", "blob:")) else elsewhere.append(request.url))
    page.goto(server)
    yield page
    context.close()
    assert elsewhere == [], f"the page requested other hosts: {elsewhere}"


def fetch(page, url: str) -> Image.Image:
    """An image the page shows, fetched from the server as the browser would."""
    response = page.request.get(url)
    assert response.ok, url
    return Image.open(io.BytesIO(response.body()))


def wait_for_photo(page) -> Image.Image:
    """The photo box's image, once the page shows the upload."""
    for _ in range(100):
        src = page.locator("#photo img").first.get_attribute("src")
        if src:
            return fetch(page, src)
        page.wait_for_timeout(100)
    raise AssertionError("the photo box never showed the upload")


def open_panel(page, elem_id: str) -> None:
    """Open one of the page's collapsed panels (a Gradio Accordion) by its header."""
    panel = page.locator(f"#{elem_id}")
    if not panel.locator(".open").count():
        panel.locator("button, .label-wrap").first.click()


def inside_first_screen(page, selector: str) -> bool:
    """Whether the element's box lies inside the viewport as the page opens, unscrolled."""
    box = page.locator(selector).first.bounding_box()
    size = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= size["height"] \
        and box["x"] + box["width"] <= size["width"]


def colorize_and_wait(page, count: int):
    thumbnails = page.locator("#results .thumbnail-item img")
    page.locator("#colorize").click()
    thumbnails.nth(count - 1).wait_for()
    page.wait_for_function("() => !document.querySelector('#details').innerText.includes('…')")
    return thumbnails


def test_browser_upload_colorize_compare_download(page, photo, tmp_path):
    size = Image.open(photo).size
    # 1. At 1280×800 the photo, the button and the results are on the first screen.
    page.set_viewport_size({"width": 1280, "height": 800})
    assert inside_first_screen(page, "#colorize") and inside_first_screen(page, "#photo")
    # 2. Upload a colour photo: the page shows it as uploaded, at its own size.
    page.locator("#photo input[type=file]").set_input_files(photo)
    assert wait_for_photo(page).size == size
    assert inside_first_screen(page, "#colorize")
    # 3. Three samples, seed 7 (under Settings), then colorize.
    open_panel(page, "settings")
    page.locator("#samples input[type=number]").fill("3")
    page.locator("#samples input[type=number]").press("Enter")
    page.locator("#seed textarea, #seed input").first.fill("7")
    thumbnails = colorize_and_wait(page, 3)
    assert thumbnails.count() == 3
    assert inside_first_screen(page, "#results")
    captions = page.locator("#results .caption-label")
    assert [captions.nth(n).inner_text() for n in range(3)] == ["1 of 3", "2 of 3", "3 of 3"]
    details = page.locator("#details")
    page.wait_for_function("() => document.querySelector('#details').innerText.includes('Seed 7')")
    assert "bits per value" in details.inner_text()
    page.wait_for_timeout(300)  # the thumbnails' fade-in, for the screenshot
    screenshot = REPO / "docs" / "webui.png" if SCREENSHOT else tmp_path / "webui.png"
    screenshot.parent.mkdir(exist_ok=True)
    page.screenshot(path=screenshot, full_page=False)
    # A typo in the seed is said once, next to the button; the gallery keeps its images.
    shown = [thumbnails.nth(n).get_attribute("src") for n in range(3)]
    page.locator("#seed textarea, #seed input").first.fill("7x")
    page.locator("#colorize").click()
    status = page.locator("#status")
    page.wait_for_function("() => document.querySelector('#status').innerText.includes('7x')")
    assert status.inner_text().count("the seed must be a whole number, got '7x'") == 1
    assert page.locator("[data-testid=toast-body]").count() == 0
    button, message = page.locator("#colorize").bounding_box(), status.bounding_box()
    assert abs(message["y"] - (button["y"] + button["height"])) < 120  # right under the button
    assert [thumbnails.nth(n).get_attribute("src") for n in range(3)] == shown
    page.locator("#seed textarea, #seed input").first.fill("7")
    # 4. Every gallery item is the full-resolution PNG, coloured.
    for n in range(3):
        image = fetch(page, thumbnails.nth(n).get_attribute("src"))
        assert image.format == "PNG" and image.size == size
        rgb = pixels(image)
        assert np.abs(rgb[..., 0] - rgb[..., 1]).mean() > 1.0
    # 5. The slider compares the selected result with the photo as uploaded.
    page.locator("#results .thumbnail-item").nth(1).click()
    page.wait_for_timeout(500)
    slider_images = page.locator("#compare img")
    slider_images.nth(1).wait_for()
    sources = [fetch(page, slider_images.nth(n).get_attribute("src")) for n in range(2)]
    assert np.array_equal(pixels(sources[0]), pixels(Image.open(photo)))
    assert np.array_equal(pixels(sources[1]), pixels(fetch(page, shown[1])))
    # 6. Downloads are named as `colorize batch` names its outputs; the zip after the photo.
    with page.expect_download() as download:
        page.locator("#results button[aria-label=Download]").first.click()
    assert download.value.suggested_filename == "photo_1.png"
    assert Image.open(download.value.path()).size == size
    with page.expect_download() as download:
        page.locator("#download-all").click()
    assert download.value.suggested_filename == "photo.zip"
    import zipfile

    with zipfile.ZipFile(download.value.path()) as archive:
        assert archive.namelist() == ["photo_0.png", "photo_1.png", "photo_2.png"]
    # 7. A new upload clears the old results, their seed and the hints.
    page.locator("#photo button[aria-label='Remove Image']").click()
    page.locator("#photo input[type=file]").set_input_files(photo)
    page.wait_for_function("() => document.querySelectorAll('#results .thumbnail-item').length === 0")
    page.wait_for_function("() => !document.querySelector('#details').innerText.includes('Seed')")
    page.wait_for_function("() => !document.querySelector('#compare img')")
    assert not page.locator("#download-all").is_visible()


def test_browser_phone_layout_puts_the_button_under_the_photo(browser, server, photo, tmp_path):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(server)
        page.locator("#photo input[type=file]").set_input_files(photo)
        wait_for_photo(page)
        assert inside_first_screen(page, "#colorize")
        photo_box, button = page.locator("#photo").bounding_box(), page.locator("#colorize").bounding_box()
        assert button["y"] > photo_box["y"] + photo_box["height"] - 1  # under the photo
        colorize_and_wait(page, 4)
        results = page.locator("#results").bounding_box()
        assert results["y"] - (button["y"] + button["height"]) < 250  # the results right under the button
        screenshot = REPO / "docs" / "webui_phone.png" if SCREENSHOT else tmp_path / "webui_phone.png"
        page.screenshot(path=screenshot, full_page=False)
    finally:
        context.close()


def test_browser_hints_are_placed_by_clicks_and_removed(page, photo):
    page.locator("#photo input[type=file]").set_input_files(photo)
    wait_for_photo(page)
    open_panel(page, "hints-panel")
    view = page.locator("#hint-view img").first
    view.wait_for()
    hints = page.locator("#hints textarea").first
    box = view.bounding_box()
    # A click at three quarters across and halfway down marks that pixel of the photo.
    view.click(position={"x": 0.75 * box["width"], "y": 0.5 * box["height"]})
    page.wait_for_function("() => document.querySelector('#hints textarea').value.length > 0")
    (x, y, colour), = json.loads(hints.input_value())
    assert abs(x - 0.75 * WIDTH) <= 1.5 and abs(y - 0.5 * HEIGHT) <= 1.5 and colour == webui_app.DEFAULT_HINT_COLOUR
    view.click(position={"x": 0.25 * box["width"], "y": 0.25 * box["height"]})
    page.wait_for_function("() => JSON.parse(document.querySelector('#hints textarea').value).length == 2")
    # The view shows the points: the photo is gray, the dots are not.
    rgb = pixels(fetch(page, view.get_attribute("src")))
    assert (np.abs(rgb[..., 0] - rgb[..., 1]) > 40).any()
    page.locator("#hint-remove-last").click()
    page.wait_for_function("() => JSON.parse(document.querySelector('#hints textarea').value).length == 1")
    page.locator("#hint-remove-all").click()
    page.wait_for_function("() => document.querySelector('#hints textarea').value === ''")


def test_browser_uncertainty_map_and_its_suggestions(page, photo):
    page.locator("#photo input[type=file]").set_input_files(photo)
    wait_for_photo(page)
    colorize_and_wait(page, 4)
    open_panel(page, "unsure-panel")
    overlay = page.locator("#unsure img").first
    overlay.wait_for()
    rgb = pixels(fetch(page, overlay.get_attribute("src")))
    assert rgb.shape[:2] == (HEIGHT, WIDTH)  # the photo's aspect; at most the map's side
    assert (np.abs(rgb[..., 0] - rgb[..., 1]) > 20).any()  # the disagreement is drawn in colour
    # One click takes the suggested points into the hints, coloured as the selected result.
    page.locator("#add-suggested").click()
    page.locator("#hints textarea").first.wait_for()  # the hints panel opens to show them
    page.wait_for_function("() => document.querySelector('#hints textarea').value.length > 0")
    points = json.loads(page.locator("#hints textarea").first.input_value())
    assert 1 <= len(points) <= 4
    first = fetch(page, page.locator("#results .thumbnail-item img").first.get_attribute("src"))
    for x, y, colour in points:
        assert colour == "#%02x%02x%02x" % first.convert("RGB").getpixel((x, y))


def test_browser_example_and_bad_upload(page, tmp_path):
    # Clicking a sample photo loads it into the photo box.
    page.locator("img[src*='chelsea']").first.click()
    assert wait_for_photo(page).size == (451, 300)
    # A file that only claims to be an image is one line, once, next to the button.
    fake = tmp_path / "notes.png"
    fake.write_text("not an image")
    page.locator("#photo button[aria-label='Remove Image']").click()
    page.locator("#photo input[type=file]").set_input_files(fake)
    page.wait_for_function("() => document.querySelector('#status').innerText.includes('notes.png')")
    text = page.locator("#status").inner_text()
    assert text.count("notes.png: not an image file; colorize reads PNG, JPEG") == 1
    assert "UnidentifiedImageError" not in text and page.locator("[data-testid=toast-body]").count() == 0
    # The box is emptied, not left with a broken-image icon.
    page.locator("#photo img").first.wait_for(state="detached")


@pytest.fixture(scope="module")
def client(server, tmp_path_factory):
    from gradio_client import Client

    return Client(server, verbose=False, download_files=str(tmp_path_factory.mktemp("downloads")))


def call(client, photo, samples=2, temperature=1.0, seed="", pick="as drawn", hints=""):
    from gradio_client import handle_file

    return client.predict(handle_file(str(photo)), samples, temperature, seed, pick, hints, api_name="/colorize")


def bits_of(details: str) -> list[float]:
    """The bits/dim of each result, from the details line."""
    return [float(value) for value in details.rsplit(": ", 1)[1].rstrip(".").split(", ")]


def test_api_returns_n_images_of_the_upload_size_and_the_seed(client, photo):
    size = Image.open(photo).size
    gallery, seed, details = call(client, photo, samples=2, seed="123")
    assert seed == "123" and len(gallery) == 2
    first = [Image.open(item["image"]) for item in gallery]
    assert all(image.size == size for image in first)
    assert [item["caption"] for item in gallery] == ["1 of 2", "2 of 2"]
    assert Path(gallery[0]["image"]).name == "photo_0.png"  # as `colorize batch` names it
    assert "Seed **123**" in details and all(0 < bits < 10 for bits in bits_of(details))
    # The same seed gives the same images; a blank seed draws one and reports it.
    again, _, _ = call(client, photo, samples=2, seed="123")
    for a, b in zip(first, again):
        assert np.array_equal(pixels(a), pixels(Image.open(b["image"])))
    gallery, seed, _ = call(client, photo, samples=1, seed="")
    assert 0 <= int(seed) < 2**63 and len(gallery) == 1  # 63-bit, as batch draws (colorize.limits.random_seed)


def test_page_cli_and_api_give_the_same_pixels(client, photo, checkpoint, tmp_path):
    """One behaviour everywhere: the same photo, seed and settings give byte-identical pixels."""
    from colorize.batch import BatchOptions, colorize_folder

    gallery, _, _ = call(client, photo, samples=2, seed="11", temperature=0.8)
    page = [pixels(Image.open(item["image"])) for item in gallery]
    colorizer = Colorizer.from_pretrained(checkpoint, device="cpu")
    api = [pixels(image) for image in colorizer.colorize(str(photo), num_samples=2, seed=11, temperature=0.8)]
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / photo.name).write_bytes(photo.read_bytes())
    result = colorize_folder(colorizer, folder, tmp_path / "out", BatchOptions(num_samples=2, seed=11, temperature=0.8),
                             log=io.StringIO())
    assert result.done == 1
    cli = [pixels(Image.open(tmp_path / "out" / f"photo_{n}.png")) for n in range(2)]
    for n in range(2):
        assert np.array_equal(page[n], api[n]) and np.array_equal(api[n], cli[n])


@pytest.mark.parametrize(
    "kwargs,field,message",
    [
        (dict(seed="seven"), "seed", "the seed must be a whole number, got 'seven'"),
        (dict(seed="-1"), "seed", "the seed must lie in [0, 18446744073709551615], got -1"),
        (dict(samples=17), "num_samples", "the number of samples must be a whole number from 1 to 16, got 17"),
        (dict(temperature=0), "temperature", "the temperature must be a number from 0.05 to 2, got 0"),
        (dict(hints="[[1, 2]]"), "hints", 'the hints, hint 0: expected [x, y, "#rrggbb"], got [1, 2]'),
        (dict(hints="[[1, 2, 'red']]"), "hints", "the hints must be JSON"),
    ],
)
def test_api_bad_arguments_are_refused_field_by_field(client, photo, kwargs, field, message):
    from gradio_client.exceptions import ValidationError

    # The check runs before the colorization, names the one bad field, and runs nothing else.
    with pytest.raises(ValidationError) as err:
        call(client, photo, **kwargs)
    assert f"- {field}: {message}" in str(err.value)
    assert str(err.value).count("\n- ") == 1


def test_api_hints_steer_the_colorization(client, photo):
    plain, _, _ = call(client, photo, samples=1, seed="3")
    hinted, _, _ = call(client, photo, samples=1, seed="3", hints='[[10, 10, "#00ff00"]]')
    assert not np.array_equal(pixels(Image.open(plain[0]["image"])), pixels(Image.open(hinted[0]["image"])))
    again, _, _ = call(client, photo, samples=1, seed="3", hints="")
    assert np.array_equal(pixels(Image.open(plain[0]["image"])), pixels(Image.open(again[0]["image"])))
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=rf"\(99, 0\) is outside the {WIDTH}×{HEIGHT} photo"):
        call(client, photo, samples=1, seed="3", hints='[[99, 0, "#00ff00"]]')


def test_each_request_saves_its_results_under_its_own_unguessable_folder(tmp_path):
    image = Image.new("RGB", (4, 4), (10, 20, 30))
    first, second = webui_app.visitor_folder(str(tmp_path)), webui_app.visitor_folder(str(tmp_path))
    assert first != second and all(len(Path(f).name) == 32 for f in (first, second))
    # The same pixels (as the same photo and seed give) land at different addresses.
    a, b = webui_app.save_png(image, first, "photo_1"), webui_app.save_png(image, second, "photo_1")
    assert a != b and Path(a).is_relative_to(first) and Path(b).is_relative_to(second)


def test_hint_helpers():
    assert webui_app.picked_colour("rgba(255, 0, 16, 1)") == "#ff0010"
    assert webui_app.picked_colour("#ABCDEF") == "#abcdef"
    points = [(1, 2, "#ff0000"), (3.5, 4, (0, 1, 2))]
    assert webui_app.parse_hints(webui_app.hints_text(points)) == points
    assert webui_app.sample_caption(0, 4, "likely") == "1 of 4 · most likely"
    assert webui_app.sample_caption(2, 4, "drawn") == "3 of 4"
    view = Image.new("L", (100, 50))
    assert webui_app.view_to_photo([99, 49], view, 400, 200) == (398, 198)


def test_api_non_image_upload_is_a_clear_error(client, tmp_path):
    from gradio_client.exceptions import ValidationError

    notes = tmp_path / "notes.txt"
    notes.write_text("hello, this is not a photo")
    with pytest.raises(ValidationError, match=r"photo: notes\.txt: not an image file"):
        call(client, notes)


def test_main_reports_a_missing_checkpoint_in_one_line(tmp_path, capsys):
    assert main(["--checkpoint", str(tmp_path), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("python -m webui: error: no colorizer checkpoint in") and err.count("\n") == 1


def raw_call(server: str, payload: dict) -> str:
    """POST /colorize with ``payload`` as the photo, as a hand-made request would (no client
    upload step); returns the refusal's body or the event stream's text."""
    import json
    import urllib.error
    import urllib.request

    body = json.dumps({"data": [payload, 1, 1.0, "1", "as drawn", ""]}).encode()
    request = urllib.request.Request(f"{server}/gradio_api/call/colorize", data=body,
                                     headers={"Content-Type": "application/json"})
    try:
        event_id = json.loads(urllib.request.urlopen(request, timeout=30).read())["event_id"]
    except urllib.error.HTTPError as err:  # refused by the check that runs before the colorization
        return f"refused {err.code}: {err.read().decode()}"
    return urllib.request.urlopen(f"{server}/gradio_api/call/colorize/{event_id}", timeout=60).read().decode()


@pytest.mark.parametrize("where", ["url", "server_file", "file_url", "photo_outside_the_upload_folder"])
def test_api_refuses_a_photo_that_is_not_an_uploaded_file(server, photo, where):
    path = {"url": "http://127.0.0.1:9/cat.png", "server_file": "/etc/hostname",
            "file_url": "file:///etc/hostname", "photo_outside_the_upload_folder": str(photo)}[where]
    reply = raw_call(server, {"path": path, "meta": {"_type": "gradio.FileData"}})
    assert reply.startswith("refused 400"), reply[:300]  # never queued, never fetched
    assert os.getcwd() not in reply and str(photo.parent) not in reply and "/" not in reply.split(":", 1)[1]


def test_a_photo_above_the_megapixel_cap_is_refused_before_decoding(client, tmp_path):
    from gradio_client.exceptions import ValidationError

    huge = tmp_path / "huge.png"
    side = int((MAX_MEGAPIXELS * 1_000_000) ** 0.5) + 100
    Image.new("L", (side, side)).save(huge)  # a few hundred KB of zeros: cheap to send, big to decode
    with pytest.raises(ValidationError, match=rf"huge\.png is {side}×{side} pixels .* up to {MAX_MEGAPIXELS} megapixels"):
        call(client, huge)


def test_the_pages_files_live_in_a_private_folder(server):
    import stat

    assert stat.S_IMODE(webui_app.PRIVATE_DIR.stat().st_mode) == 0o700
    upload_folder = Path(os.environ["GRADIO_TEMP_DIR"]).resolve()
    assert webui_app.PRIVATE_DIR.resolve() in upload_folder.parents
    assert webui_app.DEFAULT_EXAMPLES_DIR.parent == webui_app.PRIVATE_DIR


def test_run_history_is_off_and_the_banner_offers_no_share_link(capsys):
    torch.manual_seed(0)
    colorizer = Colorizer(PixColor.from_preset("tiny"), torch.device("cpu"))
    app = launch(build_app(colorizer, examples_dir=None), port=free_port(), block=False, quiet=False)
    try:
        assert app.run_history is False
        out = capsys.readouterr().out
        assert "colorize web page on http://127.0.0.1:" in out and "share=True" not in out
    finally:
        app.close()


def test_api_most_likely_pick_is_sorted(client, photo):
    gallery, _, details = call(client, photo, samples=3, seed="5", pick="most likely")
    bits = bits_of(details)
    assert bits == sorted(bits) and gallery[0]["caption"] == "1 of 3 · most likely"
    _, _, drawn = call(client, photo, samples=12, seed="5")  # the 12 draws "most likely" chose from
    assert bits == pytest.approx(sorted(bits_of(drawn))[:3], abs=1e-3)


def test_the_photo_box_never_fetches_a_url(tmp_path):
    """On Gradio's own image block: a URL named as the photo is refused before anything is fetched
    (Gradio itself refuses only loopback and private hosts), and an uploaded file still moves."""
    import asyncio
    import concurrent.futures

    import gradio as gr

    with gr.Blocks():
        box = gr.Image(type="filepath")
    webui_app.local_uploads_only(box)

    def run(coroutine):  # in a thread of its own: the browser tests keep an event loop running here
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, coroutine).result()

    with pytest.raises(gr.Error, match="fetches no URLs"):
        run(box.async_move_resource_to_block_cache("https://example.com/cat.png"))
    upload = tmp_path / "photo.png"
    Image.new("RGB", (4, 4)).save(upload)
    moved = run(box.async_move_resource_to_block_cache(str(upload)))
    assert Path(moved).is_file() and Path(moved).read_bytes() == upload.read_bytes()
