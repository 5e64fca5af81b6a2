"""Running a pipeline under ``torchrun``: process group, device, rank roles.

Nothing here is our own distributed engine. ``torchrun`` starts the
processes and sets RANK, WORLD_SIZE and LOCAL_RANK; PyTorch's process group
(gloo on CPUs, NCCL on GPUs) and DistributedDataParallel do the work. A plain
``python -m`` run is one process, world size 1, and never touches
``torch.distributed``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from colorize.device import resolve_device


@dataclass(frozen=True)
class Ranks:
    """Where this process stands: rank r of world_size, local_rank on its node."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0 alone logs, writes checkpoints and draws sample grids."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()


def launched_ranks() -> Ranks:
    """The ranks torchrun gave this process, or the single-process default."""
    return Ranks(
        rank=int(os.environ.get("RANK", 0)),
        world_size=int(os.environ.get("WORLD_SIZE", 1)),
        local_rank=int(os.environ.get("LOCAL_RANK", 0)),
    )


def setup(device_name: str = "auto") -> tuple[Ranks, torch.device]:
    """Join torchrun's process group when there is one; pick this process's device.

    With several processes and CUDA, process i of a node takes GPU LOCAL_RANK
    and the NCCL backend; on CPUs, gloo. One process: just the device.
    """
    ranks = launched_ranks()
    device = resolve_device(device_name)
    if not ranks.distributed:
        return ranks, device
    if device.type == "cuda":
        if ranks.local_rank >= torch.cuda.device_count():
            raise RuntimeError(
                f"LOCAL_RANK {ranks.local_rank} has no GPU: this node has "
                f"{torch.cuda.device_count()}; start at most that many processes per node"
            )
        device = torch.device("cuda", ranks.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return ranks, device


def teardown() -> None:
    """Leave the process group, so that every rank exits cleanly."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def average(values: list[float], ranks: Ranks, device: torch.device) -> list[float]:
    """The mean of each value over all ranks (for logging: each rank saw its share of the batch)."""
    if not ranks.distributed or not values:
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return (tensor / ranks.world_size).tolist()
