"""The default model that ships inside the package: it loads with no argument, is small, and colorizes."""

import json

import numpy as np
import skimage.data
import torch

from colorize import Colorizer
from colorize.colorizer import DEFAULT_MODEL_DIR
from colorize.models.pixcolor import PixColor

SIZE_BUDGET_BYTES = 25 * 1000 * 1000  # the EfficientNet backbone is not counted: its package ships it


def test_the_shipped_files_are_safetensors_and_json_within_budget():
    files = sorted(p.name for p in DEFAULT_MODEL_DIR.iterdir())
    assert files == ["config.json", "model.safetensors"]
    size = sum(p.stat().st_size for p in DEFAULT_MODEL_DIR.iterdir())
    assert size < SIZE_BUDGET_BYTES
    config = json.loads((DEFAULT_MODEL_DIR / "config.json").read_text())
    assert config["model"] == "pixcolor"
    # Both stages trained: in this run, or in the runs its weights continue (--init-from).
    trained = set(config["stages"]).union(*(set(leg["stages"]) for leg in config.get("history", [])))
    assert trained == {"decoder", "refine"}


def test_from_pretrained_with_no_argument_loads_it_and_colorizes():
    colorizer = Colorizer.from_pretrained(device="cpu")
    assert isinstance(colorizer.model, PixColor)
    photo = skimage.data.chelsea()[::4, ::4]  # 113×75, colour: it is turned gray first
    images = colorizer.colorize(photo, num_samples=2, seed=0)
    assert [image.size for image in images] == [(photo.shape[1], photo.shape[0])] * 2
    first, second = (np.asarray(image).astype(np.int16) for image in images)
    assert np.abs(first - second).mean() > 0.5  # two different colorizations
    # Trained, it adds colour: R, G and B of a pixel differ (for gray they are equal).
    channel_spread = torch.tensor(first, dtype=torch.float32).std(dim=2).mean()
    assert channel_spread > 2.0
