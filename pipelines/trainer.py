"""A generic training loop: nothing here knows about images or PixelCNNs.

The caller gives a model, a dataset and ``loss_fn(model, batch) -> (loss,
metrics)``. The loop owns the optimiser (AdamW), the learning-rate schedule
(linear warm-up, cosine decay), gradient clipping, the progress bar, a JSON
log, periodic checkpoints and ``--resume``.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
from safetensors.torch import load_file
from torch.utils.data import DataLoader, Dataset, Sampler
from tqdm.auto import tqdm

from colorize.checkpoint import load_training_state, restore_state, save_model, save_training_state
from colorize.device import DEVICE_CHOICES

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


class StepBatchSampler(Sampler[list[int]]):
    """The batch of step s: ``batch_size`` indices drawn by a generator seeded from (seed, s).

    A batch depends on nothing but its step, so a resumed run sees exactly
    the data an uninterrupted one would. With a dataset whose items are fixed
    functions of their index (``ImageCrops(deterministic=True)``), training
    is reproducible whatever the number of loader workers.
    """

    def __init__(self, num_items: int, batch_size: int, seed: int, start_step: int, end_step: int):
        self.num_items, self.batch_size = num_items, batch_size
        self.seed, self.start_step, self.end_step = seed, start_step, end_step

    def __len__(self) -> int:
        return max(0, self.end_step - self.start_step)

    def __iter__(self) -> Iterator[list[int]]:
        for step in range(self.start_step, self.end_step):
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
            yield torch.randint(self.num_items, (self.batch_size,), generator=generator).tolist()


def add_run_arguments(parser: argparse.ArgumentParser, resume_help: str) -> None:
    """The options every training pipeline shares: loader, seed, device, resuming."""
    parser.add_argument("--num-workers", type=int, default=0)
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
        parameters: list[torch.nn.Parameter] | None = None,
        stage: str | None = None,
    ):
        self.model = model.to(device)
        self.dataset = dataset
        self.loss_fn = loss_fn
        self.run_dir = Path(run_dir)
        self.config = config
        self.device = device
        self.run_info = run_info or {}
        self.evaluate = evaluate
        # Only what this run trains: a frozen backbone, or another stage's
        # network, keeps its weights and costs no optimizer state.
        self.parameters = list(model.parameters()) if parameters is None else list(parameters)
        self.optimizer = torch.optim.AdamW(
            self.parameters, lr=config.learning_rate, weight_decay=config.weight_decay
        )
        self.stage = stage
        # A staged model keeps each stage's optimizer state, trainer.json and
        # log in run_dir/<stage>, so stages resume independently.
        self.state_dir = self.run_dir / stage if stage else self.run_dir
        self.step = 0
        self.metrics: dict[str, float] = {}

    def batches(self, end_step: int) -> DataLoader:
        """The batches of steps ``self.step`` .. ``end_step - 1``, in order."""
        sampler = StepBatchSampler(
            len(self.dataset), self.config.batch_size, self.config.seed, self.step, end_step
        )
        return DataLoader(self.dataset, batch_sampler=sampler, num_workers=self.config.num_workers)

    def resume(self) -> None:
        weights = self.run_dir / "model.safetensors"
        if not weights.is_file():
            raise FileNotFoundError(f"cannot resume: no checkpoint in {self.run_dir}")
        restore_state(self.model, load_file(str(weights), device=str(self.device)))
        state = load_training_state(self.state_dir, self.optimizer)
        self.step = state["step"]
        self.metrics = state.get("metrics", {})

    def save(self) -> None:
        progress = {"step": self.step, "metrics": self.metrics, "trainer": asdict(self.config)}
        if self.stage:
            stages = {**self.run_info.get("stages", {}), self.stage: progress}
            info = {**self.run_info, "stages": stages}
        else:
            info = {**self.run_info, **progress}
        save_model(self.run_dir, self.model, **info)
        save_training_state(self.state_dir, self.optimizer, step=self.step, metrics=self.metrics)

    def log(self, record: dict[str, Any]) -> None:
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
        bar = tqdm(total=self.config.max_steps, initial=self.step, desc="train", unit="step")
        for batch in self.batches(end_step):
            lr = learning_rate(self.step, self.config)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            loss, metrics = self.loss_fn(self.model, batch)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"loss became {loss.item()} at step {self.step}")
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.parameters, self.config.grad_clip)
            self.optimizer.step()
            self.step += 1
            bar.update()
            if self.step % self.config.log_every == 0 or self.step == self.config.max_steps:
                record = {"step": self.step, "lr": lr, "loss": loss.item(), **metrics}
                bar.set_postfix({k: f"{v:.3f}" for k, v in record.items() if k not in ("step", "lr")})
                self.log(record)
            if self.step % self.config.checkpoint_every == 0 or self.step == end_step:
                self.checkpoint()
        bar.close()
        return self.metrics

    def checkpoint(self) -> None:
        if self.evaluate is not None:
            self.model.eval()
            self.metrics = self.evaluate(self.model)
            self.model.train()
            self.log({"step": self.step, **self.metrics})
            tqdm.write(f"step {self.step}: " + ", ".join(f"{k}={v:.4f}" for k, v in self.metrics.items()))
        self.save()
