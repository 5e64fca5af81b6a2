"""colorize: several plausible colorizations of a grayscale photo.

A conditioning CNN reads the gray image, a conditional Gated PixelCNN samples
low-resolution Lab chroma pixel by pixel, and a refinement network lifts it to
full resolution. The classic autoregressive models (PixelCNN, Row LSTM,
Diagonal BiLSTM, Gated PixelCNN) live in :mod:`colorize.models`.
"""

__version__ = "0.1.0"

# The public API: what the CLI, the web page and a user's script call. Each name is imported
# on first use: `import colorize` (and `colorize --version`) should not load torch and the models.
PUBLIC = {
    "Colorizer": "colorize.colorizer",
    "Colorization": "colorize.colorizer",
    "Hint": "colorize.hints",
    "draw_hints": "colorize.hints",
    "parse_colour": "colorize.hints",
    "parse_hint_list": "colorize.hints",
    "parse_hints_text": "colorize.hints",
    "read_hints_file": "colorize.hints",
    "SpreadAccumulator": "colorize.uncertainty",
    "colour_spread": "colorize.uncertainty",
    "suggest_hints": "colorize.uncertainty",
    "spread_overlay": "colorize.uncertainty",
    "spread_backdrop": "colorize.uncertainty",
    "DEVICE_CHOICES": "colorize.device",
}

__all__ = [*PUBLIC, "__version__"]


def __getattr__(name: str):
    if name in PUBLIC:
        import importlib

        return getattr(importlib.import_module(PUBLIC[name]), name)
    raise AttributeError(f"module 'colorize' has no attribute {name!r}")
