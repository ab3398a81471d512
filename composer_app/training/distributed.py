"""Data-parallel training across processes (``torchrun --nproc_per_node=N``): which process this is, and the
few collective operations the trainer needs.

Every process plans and builds the same global batch from the same seeds and keeps only its share of the
windows (:meth:`Group.share`); DistributedDataParallel averages the gradients, and each process scales its loss
so that the average is the gradient of the global batch's mean loss. The result equals one process training
on the same global batch (up to floating-point summation order; dropout masks differ).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from torch import distributed as dist

from composer_app.errors import UserError


@dataclass(frozen=True)
class Group:
    """This process's place among the training processes (one process: rank 0 of 1, no collectives)."""

    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        """Rank 0 is the one that writes checkpoints, curves, the log and the progress bar."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1

    def share(self, n: int) -> range:
        """The indices of a global batch of ``n`` windows this process trains on (disjoint, covering all)."""
        per = -(-n // self.world)
        return range(min(self.rank * per, n), min((self.rank + 1) * per, n))

    def sum(self, values: list[float]) -> list[float]:
        """Element-wise sum of ``values`` over all processes (float64)."""
        if not self.distributed:
            return list(values)
        t = torch.tensor(values, dtype=torch.float64, device=_collective_device())
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t.tolist()

    def max(self, value: float) -> float:
        """The largest ``value`` over all processes: every process gets the same number (clock decisions)."""
        if not self.distributed:
            return value
        t = torch.tensor([value], dtype=torch.float64, device=_collective_device())
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return float(t.item())

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()


#: The group of a run in one process.
SINGLE = Group()


def _collective_device() -> torch.device:
    """NCCL reduces tensors on the GPU; gloo on the CPU."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def start(device: str) -> tuple[Group, str]:
    """Join the process group that ``torchrun`` set up (``env://``) and pick this process's device.

    NCCL is used only when training on CUDA (each process on GPU ``LOCAL_RANK``), gloo otherwise. Outside
    torchrun this returns the single-process group and ``device`` unchanged.
    """
    if not launched_by_torchrun():
        return SINGLE, device
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    wants_cuda = device.startswith("cuda") or (device in ("auto", "") and torch.cuda.is_available())
    if wants_cuda:
        if not torch.cuda.is_available():
            raise UserError("CUDA was asked for (-d cuda) but no GPU is available; use -d cpu")
        if local_rank >= torch.cuda.device_count():
            raise UserError(f"process {local_rank} has no GPU of its own: {torch.cuda.device_count()} GPU(s) "
                            "here; start at most that many processes per node")
        device = f"cuda:{local_rank}"
        torch.cuda.set_device(local_rank)
    elif device in ("auto", ""):
        device = "cpu"
    dist.init_process_group(backend="nccl" if wants_cuda else "gloo", init_method="env://")
    return Group(dist.get_rank(), dist.get_world_size()), device


def stop(group: Group) -> None:
    """Leave the process group (after the last collective)."""
    if group.distributed and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
