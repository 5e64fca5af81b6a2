"""The autoregressive model zoo: ``build_model(name, preset=..., **overrides)``.

Names: ``pixelcnn``, ``row_lstm``, ``diagonal_bilstm``, ``gated_pixelcnn``.
Importing this package registers all of them.

The colorizer's networks live beside them but outside the registry, since
they are not autoregressive models: ``conditioning``, ``refinement``,
``pixcolor`` (the three together) and ``ab_regression`` (its deterministic
baseline). :func:`colorize.checkpoint.load_model` rebuilds any of them.
"""

from colorize.models import diagonal_bilstm, gated_pixelcnn, pixelcnn, row_lstm  # noqa: F401  (registration)
from colorize.models.base import AutoregressiveModel
from colorize.models.registry import (
    available_models,
    build_config,
    build_model,
    model_from_config,
    model_spec,
    register_model,
)

__all__ = [
    "AutoregressiveModel",
    "available_models",
    "build_config",
    "build_model",
    "model_from_config",
    "model_spec",
    "register_model",
]
