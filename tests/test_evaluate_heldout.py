"""pipelines.evaluate_heldout: each setting's row is scored with that setting alone."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from colorize.checkpoint import save_model
from colorize.models.pixcolor import PixColor
from pipelines import evaluate_heldout


def test_a_default_row_after_a_filter_row_runs_the_shipped_config(tmp_path, monkeypatch):
    torch.manual_seed(0)
    checkpoint = tmp_path / "tiny"
    save_model(checkpoint, PixColor.from_preset("tiny"))
    data = tmp_path / "photos"
    data.mkdir()
    rng = np.random.default_rng(0)
    for n in range(2):  # a held-out source (the file-name prefix) and one that is trained on
        for source in ("camvid", "coco"):
            Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(data / f"{source}-{n}.png")
    seen = []
    real_evaluate = evaluate_heldout.evaluate

    def recording_evaluate(model, *args, **kwargs):
        seen.append((model.config.edge_radius, model.config.edge_eps))
        return real_evaluate(model, *args, **kwargs)

    monkeypatch.setattr(evaluate_heldout, "evaluate", recording_evaluate)
    rows = evaluate_heldout.main(["--checkpoint", str(checkpoint), "--data", str(data), "--samples", "2",
                                  "--setting", "edge_radius=2,edge_eps=50", "--setting", "default",
                                  "--device", "cpu"])
    assert seen == [(2, 50.0), (0, 25.0)]
    assert [row["options"]["edge_radius"] for row in rows] == [2, 0]
    assert all(row["photos"] == "held-out sources (2)" for row in rows)
