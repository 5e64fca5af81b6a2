"""A generic training loop: nothing here knows about images or PixelCNNs.

The caller gives a model, a dataset and ``loss_fn(model, batch) -> (loss,
metrics)``. The loop owns the optimiser (AdamW), the learning-rate schedule
(linear warm-up, cosine decay), gradient clipping, the progress bar, a JSON
log, periodic checkpoints and ``--resume``.

Under ``torchrun`` (see :mod:`pipelines.distributed`) the same loop runs on
every process: each takes its share of every global batch, PyTorch's
DistributedDataParallel averages the gradients, and rank 0 alone logs,
evaluates and writes checkpoints. The forward pass runs under bf16 autocast
on CUDA by default, and on the CPU when asked (``--bf16``): on a CPU with
AVX512-BF16 it makes a step of the colorizer's decoder stage about 1.8× faster.
"""

from __future__ import annotations

import argparse
import json
import math
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
from safetensors.torch import load_file
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, Sampler
from tqdm.auto import tqdm

from colorize.checkpoint import (
    WEIGHTS_FILE,
    load_training_state,
    restore_state,
    save_model,
    save_training_state,
)
from colorize.device import DEVICE_CHOICES
from colorize.seeds import derived_seed
from pipelines.distributed import Ranks, average

LossFn = Callable[[torch.nn.Module, Any], tuple[torch.Tensor, dict[str, float]]]
EvalFn = Callable[[torch.nn.Module], dict[str, float]]


@dataclass
class TrainerConfig:
    max_steps: int = 2000
    batch_size: int = 32
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    warmup_steps: int = 100
    min_lr_ratio: float = 0.1
    grad_clip: float = 1.0
    checkpoint_every: int = 500
    log_every: int = 10
    num_workers: int = 0
    seed: int = 0
    bf16: bool | None = None  # bf16 autocast of the forward pass; None: on CUDA only


class StepBatchSampler(Sampler[list[int]]):
    """Rank r's share of the batch of step s: the global batch is ``batch_size``
    indices drawn by a generator seeded from (seed, s); rank r of W takes
    every W-th of them, starting at r.

    This is the distributed sampler of the loop. A batch depends on nothing
    but its step, so a resumed run sees exactly the data an uninterrupted one
    would, and W processes together see exactly the batches of one process
    with the same global batch size (the equivalence test relies on it).
    With a dataset whose items are fixed functions of their index
    (``ImageCrops(deterministic=True)``), training is reproducible whatever
    the number of loader workers.
    """

    def __init__(self, num_items: int, batch_size: int, seed: int, start_step: int, end_step: int,
                 rank: int = 0, world_size: int = 1):
        if batch_size % world_size:
            raise ValueError(
                f"the batch size {batch_size} must be divisible by the number of processes {world_size}"
            )
        self.num_items, self.batch_size = num_items, batch_size
        self.seed, self.start_step, self.end_step = seed, start_step, end_step
        self.rank, self.world_size = rank, world_size

    def __len__(self) -> int:
        return max(0, self.end_step - self.start_step)

    def __iter__(self) -> Iterator[list[int]]:
        for step in range(self.start_step, self.end_step):
            generator = torch.Generator().manual_seed(derived_seed(self.seed, step))
            batch = torch.randint(self.num_items, (self.batch_size,), generator=generator)
            yield batch[self.rank::self.world_size].tolist()


class LossModule(nn.Module):
    """The model and its loss as one module: DistributedDataParallel must see the
    whole forward pass, whatever method of the model the loss calls."""

    def __init__(self, model: nn.Module, loss_fn: LossFn):
        super().__init__()
        self.model, self.loss_fn = model, loss_fn

    def forward(self, batch):
        return self.loss_fn(self.model, batch)


def add_run_arguments(parser: argparse.ArgumentParser, resume_help: str) -> None:
    """The options every training pipeline shares: loader, seed, device, resuming."""
    parser.add_argument("--num-workers", type=int, default=0,
                        help="data-loading worker processes per training process (keep a GPU fed)")
    parser.add_argument("--bf16", dest="bf16", action="store_true", default=None,
                        help="bf16 autocast of the forward pass on the CPU too (default: on CUDA only)")
    parser.add_argument("--no-bf16", dest="bf16", action="store_false",
                        help="train in float32 on CUDA too")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    parser.add_argument("--resume", action="store_true", help=resume_help)
    parser.add_argument("--stop-after", type=int, default=None,
                        help="stop after this many steps of this invocation, keeping the "
                             "--max-steps schedule (for time-limited jobs; --resume continues)")


def learning_rate(step: int, config: TrainerConfig) -> float:
    """Linear warm-up to the peak, then cosine decay to ``min_lr_ratio`` of it."""
    if step < config.warmup_steps:
        return config.learning_rate * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.max_steps - config.warmup_steps)
    cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return config.learning_rate * (config.min_lr_ratio + (1 - config.min_lr_ratio) * cosine)


class Trainer:
    """Trains ``model`` on ``dataset`` and checkpoints it into ``run_dir``.

    ``run_info`` is stored in the checkpoint's ``config.json`` next to the
    model config, so that evaluation knows how the model was trained.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        dataset: Dataset,
        loss_fn: LossFn,
        run_dir: str | Path,
        config: TrainerConfig,
        device: torch.device,
        run_info: dict[str, Any] | None = None,
        evaluate: EvalFn | None = None,
        parameters: list[torch.nn.Parameter] | list[dict] | None = None,
        stage: str | None = None,
        ranks: Ranks = Ranks(),
        recipe: dict[str, Any] | None = None,
    ):
        self.model = model.to(device)
        # What the loss function does beyond the trainer's settings (augmentation and
        # the like), kept beside them in the checkpoint's record of this stage.
        self.recipe = recipe or {}
        self.dataset = dataset
        self.loss_fn = loss_fn
        self.run_dir = Path(run_dir)
        self.config = config
        self.device = device
        self.run_info = run_info or {}
        self.evaluate = evaluate
        # Only what this run trains: a frozen backbone, or another stage's
        # network, keeps its weights and costs no optimizer state.
        # Parameters, or optimizer groups {"params": [...], "lr_scale": s}: a group's
        # learning rate is s times the schedule's (new inputs that start at zero
        # may need to move faster than the weights around them).
        groups = [{"params": list(model.parameters()) if parameters is None else list(parameters)}]
        if parameters is not None and groups[0]["params"] and isinstance(groups[0]["params"][0], dict):
            groups = [{"lr_scale": 1.0, **group, "params": list(group["params"])} for group in parameters]
        self.parameters = [p for group in groups for p in group["params"]]
        self.optimizer = torch.optim.AdamW(groups, lr=config.learning_rate, weight_decay=config.weight_decay)
        self.stage = stage
        # A staged model keeps each stage's optimizer state, trainer.json and
        # log in run_dir/<stage>, so stages resume independently.
        self.state_dir = self.run_dir / stage if stage else self.run_dir
        self.step = 0
        self.metrics: dict[str, float] = {}
        self.ranks = ranks
        self._forward: nn.Module | None = None
        if config.batch_size % ranks.world_size:
            raise ValueError(f"--batch-size {config.batch_size} is the global batch: it must be "
                             f"divisible by the {ranks.world_size} processes")

    def batches(self, end_step: int) -> DataLoader:
        """This rank's share of the batches of steps ``self.step`` .. ``end_step - 1``, in order."""
        sampler = StepBatchSampler(
            len(self.dataset), self.config.batch_size, self.config.seed, self.step, end_step,
            self.ranks.rank, self.ranks.world_size,
        )
        return DataLoader(self.dataset, batch_sampler=sampler, num_workers=self.config.num_workers,
                          pin_memory=self.device.type == "cuda")

    def forward_module(self) -> nn.Module:
        """What a step calls: the loss module, wrapped in DDP when there are several processes.

        Built once per trainer: a second DDP wrapper around the same
        parameters would register a second set of gradient hooks.
        """
        if self._forward is None:
            self._forward = self.wrap(LossModule(self.model, self.loss_fn))
        return self._forward

    def wrap(self, module: nn.Module) -> nn.Module:
        if not self.ranks.distributed:
            return module
        # DDP averages the gradients of the parameters that need them; what
        # this run does not train must not wait for a gradient that never comes.
        trained = {id(p) for p in self.parameters}
        for p in self.model.parameters():
            if id(p) not in trained:
                p.requires_grad_(False)
        return DistributedDataParallel(
            module, device_ids=[self.device] if self.device.type == "cuda" else None
        )

    def autocast(self):
        enabled = self.device.type == "cuda" if self.config.bf16 is None else self.config.bf16
        if enabled and self.device.type in ("cuda", "cpu"):
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return nullcontext()

    def resume(self) -> None:
        weights = self.run_dir / WEIGHTS_FILE
        if not weights.is_file():
            raise FileNotFoundError(f"cannot resume: no checkpoint in {self.run_dir}")
        restore_state(self.model, load_file(str(weights), device=str(self.device)))
        state = load_training_state(self.state_dir, self.optimizer)
        self.step = state["step"]
        self.metrics = state.get("metrics", {})

    def save(self) -> None:
        progress = {"step": self.step, "metrics": self.metrics, "trainer": asdict(self.config)}
        if self.recipe:
            progress["recipe"] = self.recipe
        if self.stage:
            stages = {**self.run_info.get("stages", {}), self.stage: progress}
            info = {**self.run_info, "stages": stages}
        else:
            info = {**self.run_info, **progress}
        save_model(self.run_dir, self.model, **info)
        save_training_state(self.state_dir, self.optimizer, step=self.step, metrics=self.metrics)

    def log(self, record: dict[str, Any]) -> None:
        if not self.ranks.is_main:
            return
        with open(self.state_dir / "log.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")

    def fit(self, stop_after: int | None = None) -> dict[str, float]:
        """Train until ``max_steps``, or for ``stop_after`` steps of this call if sooner.

        Stopping early leaves the schedule untouched: a later ``resume`` and
        ``fit`` continue it as if nothing had happened. Returns the last
        evaluation metrics.
        """
        self.state_dir.mkdir(parents=True, exist_ok=True)
        end_step = self.config.max_steps
        if stop_after is not None:
            end_step = min(end_step, self.step + stop_after)
        self.model.train()
        # Each rank its own random stream, for anything random inside a step
        # (the batches are not: they are fixed by the step).
        torch.manual_seed(derived_seed(self.config.seed, self.ranks.rank))
        forward = self.forward_module()
        bar = tqdm(total=self.config.max_steps, initial=self.step, desc="train", unit="step",
                   disable=not self.ranks.is_main)
        for batch in self.batches(end_step):
            lr = learning_rate(self.step, self.config)
            for group in self.optimizer.param_groups:
                group["lr"] = lr * group.get("lr_scale", 1.0)
            with self.autocast():
                loss, metrics = forward(batch)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"loss became {loss.item()} at step {self.step}")
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.parameters, self.config.grad_clip)
            self.optimizer.step()
            self.step += 1
            bar.update()
            if self.step % self.config.log_every == 0 or self.step == self.config.max_steps:
                # Each rank saw its share of the batch: log the mean over all of them.
                values = average([loss.item(), *metrics.values()], self.ranks, self.device)
                record = {"step": self.step, "lr": lr, "loss": values[0], **dict(zip(metrics, values[1:]))}
                bar.set_postfix({k: f"{v:.3f}" for k, v in record.items() if k not in ("step", "lr")})
                self.log(record)
            if self.step % self.config.checkpoint_every == 0 or self.step == end_step:
                self.checkpoint()
        bar.close()
        return self.metrics

    def checkpoint(self) -> None:
        """Rank 0 evaluates and saves; the others wait, so that no rank runs ahead of the files."""
        if self.ranks.is_main:
            if self.evaluate is not None:
                self.model.eval()
                self.metrics = self.evaluate(self.model)
                self.model.train()
                self.log({"step": self.step, **self.metrics})
                tqdm.write(f"step {self.step}: " + ", ".join(f"{k}={v:.4f}" for k, v in self.metrics.items()))
            self.save()
        self.ranks.barrier()
