"""The ``colorize`` command line.

    colorize batch IN_DIR OUT_DIR   colorize every photo in a folder, N samples each
    colorize models                 the model zoo and the colorizer: presets and sizes
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

from colorize import __version__
from colorize.limits import (MAX_PIXELS, MAX_SAMPLES, MAX_SPARSE_PIXELS, MAX_TEMPERATURE, MIN_TEMPERATURE,
                             check_megapixels, max_threads)

# The same as colorize.device.DEVICE_CHOICES, which cannot be imported here
# without importing torch, and `colorize --help` should not wait for torch.
DEVICE_CHOICES = ("auto", "cpu", "cuda")

BATCH_EPILOG = """\
IN_DIR/a/photo.jpg gives OUT_DIR/a/photo_0.png ... photo_{N-1}.png and photo.json,
which records the seed, temperature, selection and each output's bits/dim (subfolders
are mirrored). Images: png, jpg, jpeg, webp, tif, tiff, bmp, gif (its first frame), in any letter case; any other
file gets one "skipped: ... not a supported image format" line. A photo whose N outputs
all exist is skipped, so a rerun resumes, and so is one that another run into the same
OUT_DIR is colorizing (its lock file is held). Outputs are PNG (or --format jpg|webp)
at the input's size (after EXIF rotation); an input with transparency gives RGBA
outputs with its alpha (not in JPEG). A
file that cannot be colorized is reported on one line and the batch goes on; a full or
read-only OUT_DIR stops it. OUT_DIR may not be IN_DIR or inside it; nothing is written
to IN_DIR. With --hints, photo.json also records the photo's hints, and a hint outside
its photo fails that photo.

exit status: 0 all done or skipped, 1 some file failed, 2 usage error (bad options,
missing IN_DIR, OUT_DIR inside IN_DIR or not writable, no model), 130 interrupted.
"""


def list_models(args: argparse.Namespace) -> int:
    """Print every registered model, its presets and their parameter counts."""
    from colorize.color import NUM_AB_BINS, NUM_RGB_CLASSES
    from colorize.models import available_models, build_model, model_spec

    setups = {"rgb": (3, NUM_RGB_CLASSES), "ab": (2, NUM_AB_BINS)}
    print(f"{'model':<16} {'preset':<7} " + " ".join(f"{'params@' + k:>12}" for k in setups))
    for name in available_models():
        for preset in model_spec(name).presets:
            counts = [
                build_model(name, preset=preset, num_channels=c, num_classes=k).num_parameters()
                for c, k in setups.values()
            ]
            print(f"{name:<16} {preset:<7} " + " ".join(f"{n:>12,}" for n in counts))

    from colorize.checkpoint import stored_state

    print(f"\n{'colorizer':<16} {'preset':<7} {'trained params':>15} {'checkpoint MB':>14}")
    for preset in model_spec("pixcolor").presets:
        model = build_model("pixcolor", preset)
        stored = sum(t.numel() * t.element_size() for t in stored_state(model).values())
        print(f"{'pixcolor':<16} {preset:<7} {model.num_parameters(trainable_only=True):>15,} "
              f"{stored / 1e6:>14.1f}")
    return 0


def checked(convert, accept, wanted: str):
    """An argparse type: ``convert(text)``, refusing values that ``accept`` rejects with "must be ``wanted``"."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text!r}")
        return value

    return parse


positive_int = checked(int, lambda value: value >= 1, "an integer >= 1")
samples_value = checked(int, lambda value: 1 <= value <= MAX_SAMPLES, f"an integer in [1, {MAX_SAMPLES}]")
temperature_value = checked(float, lambda value: MIN_TEMPERATURE <= value <= MAX_TEMPERATURE,
                            f"a number in [{MIN_TEMPERATURE:g}, {MAX_TEMPERATURE:g}]")
threads_value = checked(int, lambda value: 1 <= value <= max_threads(),
                        f"an integer in [1, {max_threads()}] (2 per core of this machine)")
megapixels_value = checked(float, lambda value: 0 < value < float("inf"), "a number of megapixels > 0")
# What torch.Generator.manual_seed takes.
seed_value = checked(int, lambda value: 0 <= value < 2**64, "an integer in [0, 2**64 - 1]")


def batch(args: argparse.Namespace) -> int:
    """Colorize a folder; usage errors and a missing model exit 2 through ``parser.error``."""
    # Imported here: they load torch, which `colorize models --help` need not wait for.
    from colorize.batch import (BatchOptions, BatchUsageError, Shard, check_folders, colorize_folder,
                                launched_shard)
    from colorize.colorizer import Colorizer

    from colorize.hints import read_hints_file

    parser = args.parser
    try:
        hints = read_hints_file(args.hints) if args.hints else {}
    except ValueError as err:
        parser.error(str(err))
    try:
        options = BatchOptions(args.samples, args.temperature, args.seed, args.overwrite, args.select,
                               args.draws, hints, args.format, args.quality, args.guidance, args.top_p,
                               check_megapixels(args.max_megapixels),
                               check_megapixels(args.max_sparse_megapixels), args.uncertainty_map)
        if args.uncertainty_map and args.samples < 2:
            raise BatchUsageError("--uncertainty-map compares the samples: it needs --samples 2 or more")
        check_folders(args.in_dir, args.out_dir)
        shard = (Shard.parse(args.shard) if args.shard else Shard()).within(launched_shard())
    except BatchUsageError as err:
        parser.error(str(err))
    device = args.device
    if launched_shard().count > 1 and device != "cpu":
        import torch

        # Under torchrun each process of a node takes its own GPU, as training does.
        if torch.cuda.is_available():
            device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0)) % torch.cuda.device_count()}"
    try:
        colorizer = Colorizer.from_pretrained(args.checkpoint, device=device, threads=args.threads)
    except Exception as err:  # noqa: BLE001 -- any unloadable checkpoint is the user's to fix
        hint = "" if args.checkpoint else " (--checkpoint PATH names one)"
        parser.error(f"cannot load the colorizer: {err}{hint}")
    if hints and not colorizer.model.config.hints:
        parser.error("--hints: this model was trained without colour hints (train one with "
                     "`python -m pipelines.train_colorizer --hints`)")
    try:
        colorizer.sampling_settings(options.guidance, options.top_p)
    except ValueError as err:
        parser.error(str(err).replace("guidance=", "--guidance ").replace("top_p", "--top-p"))
    try:
        with torchrun_group(launched_shard().count > 1):
            result = colorize_folder(colorizer, args.in_dir, args.out_dir, options, shard=shard)
            # Flushed before the wait: torchrun may stop this process once another has exited.
            print(result.summary() if shard.count == 1
                  else f"shard {shard.index}/{shard.count}: {result.summary()}", flush=True)
    except BatchUsageError as err:
        parser.error(str(err))
    if result.interrupted:
        return 130
    return 1 if result.failed else 0


@contextlib.contextmanager
def torchrun_group(active: bool):
    """Under torchrun, hold every process until all have finished their shard.

    torchrun stops all processes as soon as one exits with an error, and a
    shard with a bad file exits 1: without this wait it would cut the other
    shards short. The wait may be long (shards differ in size), hence the
    generous timeout. Only a barrier, so gloo on the CPU serves, GPUs or not.
    """
    if not active:
        yield
        return
    import datetime

    import torch.distributed as dist

    dist.init_process_group("gloo", timeout=datetime.timedelta(days=7))
    try:
        yield
        dist.barrier()
    finally:
        dist.destroy_process_group()


def add_batch_parser(commands) -> None:
    batch_parser = commands.add_parser(
        "batch", help="colorize every photo in a folder (subfolders mirrored), N samples each",
        description="Colorize every photo under IN_DIR into OUT_DIR, N colorizations each (--samples N).",
        epilog=BATCH_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    batch_parser.add_argument("in_dir", metavar="IN_DIR", help="folder of photos, searched recursively")
    batch_parser.add_argument("out_dir", metavar="OUT_DIR", help="where the PNGs go; created if missing")
    batch_parser.add_argument("--samples", type=samples_value, default=4, metavar="N",
                              help=f"colorizations per photo, at most {MAX_SAMPLES} (default: %(default)s)")
    batch_parser.add_argument("--temperature", type=temperature_value, default=1.0, metavar="T",
                              help=f"in [{MIN_TEMPERATURE:g}, {MAX_TEMPERATURE:g}]; lower gives safer, less "
                                   "varied colours (default: %(default)s)")
    batch_parser.add_argument("--guidance", type=float, default=None, metavar="S",
                              help="classifier-free guidance scale: how strongly colours follow what the "
                                   "gray photo shows (1: none; default: the model's own)")
    batch_parser.add_argument("--top-p", type=float, default=None, metavar="P",
                              help="draw each value from its most likely colours of total probability P, "
                                   "in (0, 1] (default: the model's own)")
    batch_parser.add_argument("--seed", type=seed_value, default=None, metavar="S",
                              help="seed every photo with S, so a photo's outputs do not depend on the "
                                   "other files (default: a fresh random seed per photo)")
    batch_parser.add_argument("--select", choices=("drawn", "likely", "diverse"), default="drawn",
                              help="which samples to keep: as drawn, the most likely of --draws, or the "
                                   "most different of --draws, from the most likely (default: %(default)s)")
    batch_parser.add_argument("--draws", type=samples_value, default=None, metavar="M",
                              help="samples drawn for --select likely or diverse (default: 4 × N)")
    batch_parser.add_argument("--hints", default=None, metavar="FILE.json",
                              help='colour hints: a JSON object mapping photo names (a path under IN_DIR, '
                                   'or a file name) to lists of [x, y, "#rrggbb"], x and y in the photo\'s '
                                   'own pixels')
    batch_parser.add_argument("--checkpoint", default=None, metavar="PATH",
                              help="checkpoint folder written by pipelines.train_colorizer "
                                   "(default: the model shipped with the package)")
    batch_parser.add_argument("--device", choices=DEVICE_CHOICES, default="auto",
                              help="auto: CUDA when present, else the CPU (default: %(default)s)")
    batch_parser.add_argument("--format", choices=("png", "jpg", "webp"), default="png",
                              help="output format (default: %(default)s, fast compression)")
    batch_parser.add_argument("--quality", type=positive_int, default=None, metavar="Q",
                              help="jpg and webp quality, 1-100 (default: 95 for jpg, 90 for webp)")
    batch_parser.add_argument("--threads", type=threads_value, default=None, metavar="T",
                              help="CPU threads of the large operations (backbone, refinement, merge); "
                                   "the sampler's loop always runs on one (default: torch's, all cores)")
    batch_parser.add_argument("--max-megapixels", type=megapixels_value, default=MAX_PIXELS / 1e6, metavar="M",
                              help="refuse photos larger than M megapixels, from their header "
                                   "(default: %(default)g, the size the memory bound is measured at)")
    batch_parser.add_argument("--max-sparse-megapixels", type=megapixels_value, default=MAX_SPARSE_PIXELS / 1e6,
                              metavar="M",
                              help="a file far smaller than the image it declares (under 1 byte per 2,000 "
                                   "pixels: damaged, or a decompression bomb) is read with a warning up to M "
                                   "megapixels and refused above (default: %(default)g)")
    batch_parser.add_argument("--uncertainty-map", action="store_true",
                              help="also write PHOTO_unsure.png: the photo in gray, pink where its samples "
                                   "disagree (the colours the model is unsure of), the points where a colour "
                                   "hint would settle the most ringed; the points go into PHOTO.json")
    batch_parser.add_argument("--overwrite", action="store_true",
                              help="colorize photos whose outputs already exist, replacing them")
    batch_parser.add_argument("--shard", default=None, metavar="I/N",
                              help="do only shard I of N (0 <= I < N): every N-th photo of the sorted "
                                   "list, from the I-th; N jobs with I = 0 … N-1 do each photo once. "
                                   "Under torchrun each process takes its share by itself")
    batch_parser.set_defaults(run=batch, parser=batch_parser)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="colorize", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"colorize {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    add_batch_parser(commands)
    models = commands.add_parser("models", help="list the model zoo and the colorizer presets with their sizes")
    models.set_defaults(run=list_models)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    return args.run(args)
