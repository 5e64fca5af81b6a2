"""colorize: several plausible colorizations of a grayscale photo.

A conditioning CNN reads the gray image, a conditional Gated PixelCNN samples
low-resolution Lab chroma pixel by pixel, and a refinement network lifts it to
full resolution. The classic autoregressive models (PixelCNN, Row LSTM,
Diagonal BiLSTM, Gated PixelCNN) live in :mod:`colorize.models`.
"""

__version__ = "0.1.0"

__all__ = ["Colorizer", "__version__"]


def __getattr__(name: str):
    # Imported on first use: `import colorize` (and `colorize --version`)
    # should not have to load torch and the model code.
    if name == "Colorizer":
        from colorize.colorizer import Colorizer

        return Colorizer
    raise AttributeError(f"module 'colorize' has no attribute {name!r}")
