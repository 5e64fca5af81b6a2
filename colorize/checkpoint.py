"""Checkpoints: safetensors weights plus a JSON config that rebuilds the model.

A run folder holds:

- ``config.json``: ``{"model": name, "config": {...}, ...}`` plus whatever the
  pipeline records (data settings, step, metrics). Enough to rebuild the model.
- ``model.safetensors``: the model's weights, except those a model names in
  ``pretrained_keys()`` (a frozen ImageNet backbone that an installed package
  provides; see :mod:`colorize.models.conditioning`).
- ``optimizer.safetensors`` and ``trainer.json``: optimizer tensors and the
  rest of the training state, for ``--resume``.

Nothing is pickled. Every file is written to a temporary name and renamed, so
a run killed mid-write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save

from colorize.atomic_write import write_bytes_atomically
from colorize.models import model_from_config

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
OPTIMIZER_FILE = "optimizer.safetensors"
TRAINER_FILE = "trainer.json"


def write_json(path: Path, data: dict[str, Any]) -> None:
    write_bytes_atomically(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())


def write_tensors(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    write_bytes_atomically(path, save({k: v.detach().contiguous().cpu() for k, v in tensors.items()}))


def stored_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The weights a checkpoint holds: the state dict less ``model.pretrained_keys()``."""
    skip = model.pretrained_keys() if hasattr(model, "pretrained_keys") else set()
    return {key: value for key, value in model.state_dict().items() if key not in skip}


def restore_state(model: torch.nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    """Load what :func:`stored_state` wrote; any other missing or extra key is an error."""
    skip = model.pretrained_keys() if hasattr(model, "pretrained_keys") else set()
    try:
        result = model.load_state_dict(tensors, strict=False)
    except RuntimeError as err:  # a tensor of another shape: the config and weights disagree
        raise ValueError(f"checkpoint does not match the {getattr(model, 'model_name', 'model')} "
                         f"config: {str(err).splitlines()[-1].strip()}") from None
    missing = sorted(set(result.missing_keys) - skip)
    if missing or result.unexpected_keys:
        raise ValueError(
            f"checkpoint does not match the {getattr(model, 'model_name', 'model')} config: "
            f"missing {missing[:5]}, unexpected {sorted(result.unexpected_keys)[:5]}"
        )


def save_model(run_dir: str | Path, model, **extra: Any) -> Path:
    """Write ``model``'s weights and config (plus ``extra`` JSON fields) to ``run_dir``."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_tensors(run_dir / WEIGHTS_FILE, stored_state(model))
    config = {"model": model.model_name, "config": dataclasses.asdict(model.config), **extra}
    write_json(run_dir / CONFIG_FILE, config)
    return run_dir


def read_config(run_dir: str | Path) -> dict[str, Any]:
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint in {run_dir}: {CONFIG_FILE} is missing")
    try:
        config = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path} is not a checkpoint config: it holds no JSON object")
    return config


def load_model(run_dir: str | Path, device: str | torch.device = "cpu"):
    """Rebuild the model saved in ``run_dir``; returns (model in eval mode, config dict)."""
    config = read_config(run_dir)
    weights = Path(run_dir) / WEIGHTS_FILE
    if not weights.is_file():
        raise FileNotFoundError(f"no weights in {run_dir}: {WEIGHTS_FILE} is missing")
    if not isinstance(config.get("model"), str) or not isinstance(config.get("config"), dict):
        raise ValueError(f"{Path(run_dir) / CONFIG_FILE} is not a checkpoint config: "
                         "it needs a 'model' name and a 'config' object")
    model = model_from_config(config["model"], config["config"])
    restore_state(model, load_file(str(weights)))
    return model.to(device).eval(), config


def save_training_state(run_dir: str | Path, optimizer: torch.optim.Optimizer, **state: Any) -> None:
    """Optimizer tensors to safetensors, everything else (step, param groups) to JSON."""
    run_dir = Path(run_dir)
    opt = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, param_state in opt["state"].items():
        for key, value in param_state.items():
            if torch.is_tensor(value):
                tensors[f"{index}.{key}"] = value
            else:
                scalars[f"{index}.{key}"] = value
    write_tensors(run_dir / OPTIMIZER_FILE, tensors)
    write_json(
        run_dir / TRAINER_FILE,
        {"param_groups": opt["param_groups"], "optimizer_scalars": scalars, **state},
    )


def load_training_state(run_dir: str | Path, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """Restore ``optimizer`` from ``run_dir``; returns the other saved fields (e.g. step)."""
    run_dir = Path(run_dir)
    if not (run_dir / TRAINER_FILE).is_file():
        raise FileNotFoundError(f"cannot resume: no {TRAINER_FILE} in {run_dir}")
    saved = json.loads((run_dir / TRAINER_FILE).read_text())
    state: dict[int, dict[str, Any]] = {}
    for name, value in load_file(str(run_dir / OPTIMIZER_FILE)).items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    for name, value in saved.pop("optimizer_scalars").items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": saved.pop("param_groups")})
    return saved
