"""Model registry: names → (class, config dataclass, named presets), and the one way back from JSON.

``build_model("gated_pixelcnn", preset="tiny", num_channels=2, num_classes=32)``
builds a model from a preset plus overrides; ``model_from_config`` rebuilds one
from the plain dict stored in a checkpoint's JSON. Both check every field name,
nested parts included, so a typo or a stale field is a clear ``ValueError``
rather than a ``TypeError`` from deep inside a constructor.

Every model registers here: the four autoregressive baselines of the zoo, and
the colorizer and its regression baseline (``zoo=False``: they are not
autoregressive models over pixels). Presets are plain dicts of config fields;
a nested part (the colorizer's decoder, say) is a nested dict.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

from torch import nn


@dataclass(frozen=True)
class ModelSpec:
    model_cls: type[nn.Module]
    config_cls: type
    presets: dict[str, dict[str, Any]]
    zoo: bool = True  # one of the autoregressive baselines scored in bits/dim
    # Fills the fields that checkpoints older than a field lack with the values
    # those checkpoints were trained with (which may differ from today's default).
    upgrade_stored: Callable[[dict[str, Any]], dict[str, Any]] | None = None


_REGISTRY: dict[str, ModelSpec] = {}


def register_model(name: str, config_cls: type, presets: dict[str, dict[str, Any]], zoo: bool = True,
                   upgrade_stored: Callable[[dict[str, Any]], dict[str, Any]] | None = None):
    """Class decorator that adds a model to the registry under ``name``."""

    def decorator(model_cls: type[nn.Module]) -> type[nn.Module]:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        _REGISTRY[name] = ModelSpec(model_cls, config_cls, presets, zoo, upgrade_stored)
        model_cls.model_name = name
        return model_cls

    return decorator


def available_models(zoo_only: bool = True) -> list[str]:
    """The autoregressive baselines; with ``zoo_only=False`` every registered model."""
    return sorted(name for name, spec in _REGISTRY.items() if spec.zoo or not zoo_only)


def model_spec(name: str) -> ModelSpec:
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(available_models(zoo_only=False))}")
    return _REGISTRY[name]


def config_from_dict(config_cls: type, fields: Any, what: str):
    """``config_cls(**fields)``, or ``fields`` itself if it already is one; unknown or missing
    fields are a ``ValueError`` that names ``what``. Nested configs call this from their
    ``__post_init__``, so the check reaches every part."""
    if isinstance(fields, config_cls):
        return fields
    if not isinstance(fields, dict):
        raise ValueError(f"the config of {what} must be a dict, got {type(fields).__name__}")
    known = {f.name for f in dataclasses.fields(config_cls)}
    unknown = set(fields) - known
    if unknown:
        raise ValueError(f"unknown config fields for {what}: {', '.join(sorted(unknown))}; "
                         f"known: {', '.join(sorted(known))}")
    required = {f.name for f in dataclasses.fields(config_cls)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    missing = required - set(fields)
    if missing:
        raise ValueError(f"missing config fields for {what}: {', '.join(sorted(missing))}")
    return config_cls(**fields)


def build_config(name: str, preset: str = "tiny", **overrides: Any):
    """The config dataclass of ``name``: a named preset, then ``overrides`` (whole fields)."""
    spec = model_spec(name)
    if preset not in spec.presets:
        raise ValueError(
            f"unknown preset {preset!r} for {name}; available: {', '.join(spec.presets)}"
        )
    return config_from_dict(spec.config_cls, {**spec.presets[preset], **overrides}, name)


def build_model(name: str, preset: str = "tiny", **overrides: Any) -> nn.Module:
    """Build a registered model from a preset and config overrides."""
    return model_spec(name).model_cls(build_config(name, preset, **overrides))


def model_from_config(name: str, config: dict[str, Any]) -> nn.Module:
    """Rebuild a model from the plain dict of its config, as a checkpoint stores it."""
    spec = model_spec(name)
    if spec.upgrade_stored is not None:
        config = spec.upgrade_stored(config)
    return spec.model_cls(config_from_dict(spec.config_cls, config, name))
