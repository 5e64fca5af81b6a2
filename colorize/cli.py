"""The ``colorize`` command line.

    colorize models            the autoregressive model zoo: presets and sizes
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
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="colorize", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"colorize {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    models = commands.add_parser("models", help="list the autoregressive models and their presets")
    models.set_defaults(run=list_models)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    return args.run(args)
