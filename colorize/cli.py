"""The ``colorize`` command line.

    colorize models            the model zoo and the colorizer: presets and sizes
"""

from __future__ import annotations

import argparse
import sys

from colorize import __version__


def list_models(args: argparse.Namespace) -> int:
    """Print every registered model, its presets and their parameter counts."""
    from colorize.models import available_models, build_model, model_spec

    setups = {"rgb": (3, 256), "ab": (2, 32)}
    print(f"{'model':<16} {'preset':<7} " + " ".join(f"{'params@' + k:>12}" for k in setups))
    for name in available_models():
        for preset in model_spec(name).presets:
            counts = [
                build_model(name, preset=preset, num_channels=c, num_classes=k).num_parameters()
                for c, k in setups.values()
            ]
            print(f"{name:<16} {preset:<7} " + " ".join(f"{n:>12,}" for n in counts))

    from colorize.checkpoint import stored_state
    from colorize.models.pixcolor import PRESETS, PixColor

    print(f"\n{'colorizer':<16} {'preset':<7} {'trained params':>15} {'checkpoint MB':>14}")
    for preset in PRESETS:
        model = PixColor.from_preset(preset)
        stored = sum(t.numel() * t.element_size() for t in stored_state(model).values())
        print(f"{'pixcolor':<16} {preset:<7} {model.num_parameters(trainable_only=True):>15,} "
              f"{stored / 1e6:>14.1f}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="colorize", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"colorize {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    models = commands.add_parser("models", help="list the model zoo and the colorizer presets with their sizes")
    models.set_defaults(run=list_models)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    return args.run(args)
