"""Choosing the torch device from a user's ``auto|cpu|cuda`` string."""

from __future__ import annotations

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` is CUDA when present, else the CPU; ``cuda`` without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for, but no CUDA device is available")
    if name not in DEVICE_CHOICES and not name.startswith("cuda:"):
        raise ValueError(f"unknown device {name!r}; use one of {', '.join(DEVICE_CHOICES)}")
    return torch.device(name)


def has_fast_bf16(device: torch.device) -> bool:
    """Whether bfloat16 convolutions are faster than float32 here: CUDA with bf16, or a CPU with
    AVX512-BF16 (or AMX), where oneDNN runs them natively; elsewhere they would be emulated."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # an older torch without the probes: do not guess
        return False
