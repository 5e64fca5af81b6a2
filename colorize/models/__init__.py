"""Every model: ``build_model(name, preset=..., **overrides)``, ``model_from_config(name, dict)``.

The autoregressive zoo (``available_models()``): ``pixelcnn``, ``row_lstm``,
``diagonal_bilstm``, ``gated_pixelcnn``. Beside them, registered with
``zoo=False`` since they are not autoregressive models over pixels: the
colorizer ``pixcolor`` (``conditioning`` + ``gated_pixelcnn`` +
``refinement``) and its deterministic baseline ``ab_regression``. Importing
this package registers all of them; :func:`colorize.checkpoint.load_model`
rebuilds any of them through :func:`model_from_config`.
"""

from colorize.models import (  # noqa: F401  (registration)
    ab_regression,
    diagonal_bilstm,
    gated_pixelcnn,
    pixcolor,
    pixelcnn,
    row_lstm,
)
from colorize.models.base import AutoregressiveModel
from colorize.models.registry import (
    available_models,
    build_config,
    build_model,
    config_from_dict,
    model_from_config,
    model_spec,
    register_model,
)

__all__ = [
    "AutoregressiveModel",
    "available_models",
    "build_config",
    "build_model",
    "config_from_dict",
    "model_from_config",
    "model_spec",
    "register_model",
]
