"""Model registry: names → (class, config dataclass, named presets).

``build_model("gated_pixelcnn", preset="tiny", num_channels=2, num_classes=32)``
builds a model from a preset plus overrides; ``model_from_config`` rebuilds one
from the plain dict stored in a checkpoint's JSON.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from torch import nn


@dataclass(frozen=True)
class ModelSpec:
    model_cls: type[nn.Module]
    config_cls: type
    presets: dict[str, dict[str, Any]]


_REGISTRY: dict[str, ModelSpec] = {}


def register_model(name: str, config_cls: type, presets: dict[str, dict[str, Any]]):
    """Class decorator that adds a model to the registry under ``name``."""

    def decorator(model_cls: type[nn.Module]) -> type[nn.Module]:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        _REGISTRY[name] = ModelSpec(model_cls, config_cls, presets)
        model_cls.model_name = name
        return model_cls

    return decorator


def available_models() -> list[str]:
    return sorted(_REGISTRY)


def model_spec(name: str) -> ModelSpec:
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(available_models())}")
    return _REGISTRY[name]


def build_config(name: str, preset: str = "tiny", **overrides: Any):
    """The config dataclass of ``name``: a named preset, then ``overrides``."""
    spec = model_spec(name)
    if preset not in spec.presets:
        raise ValueError(
            f"unknown preset {preset!r} for {name}; available: {', '.join(spec.presets)}"
        )
    fields = {f.name for f in dataclasses.fields(spec.config_cls)}
    unknown = set(overrides) - fields
    if unknown:
        raise ValueError(f"unknown config fields for {name}: {', '.join(sorted(unknown))}")
    return spec.config_cls(**{**spec.presets[preset], **overrides})


def build_model(name: str, preset: str = "tiny", **overrides: Any) -> nn.Module:
    """Build a registered model from a preset and config overrides."""
    return model_spec(name).model_cls(build_config(name, preset, **overrides))


def model_from_config(name: str, config: dict[str, Any]) -> nn.Module:
    """Rebuild a model from the plain dict of its config (as stored in a checkpoint)."""
    spec = model_spec(name)
    return spec.model_cls(spec.config_cls(**config))
