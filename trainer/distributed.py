"""Several processes (``torchrun``, DDP): process-group set-up and a global-batch sampler.

Launch with ``torchrun --nproc_per_node=N -m trainer.train CONFIG``; the usual
RANK/WORLD_SIZE/LOCAL_RANK/MASTER_ADDR variables select the process group (NCCL on
CUDA, gloo on CPU). Rank 0 logs and writes checkpoints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist


@dataclass
class DistInfo:
    """Where this process stands in the job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_distributed(device: torch.device) -> DistInfo:
    """Join the process group described by the environment (no-op for a single process)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    rank = int(os.environ["RANK"])
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
    return DistInfo(rank, world, local)


def barrier(info: DistInfo) -> None:
    """Wait for all processes (no-op for one)."""
    if info.enabled:
        dist.barrier()


def broadcast_object(obj, info: DistInfo):
    """Rank 0's ``obj`` on every process."""
    if not info.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


class GlobalBatchSampler:
    """Yields this process's share of each global batch, as ``(index, epoch)`` keys.

    The order is a permutation seeded by (seed, epoch), the same on every process; global
    batch i is ``perm[i*B:(i+1)*B]`` and process r takes its r-th contiguous slice. So N
    processes with B/N each see exactly the samples one process with B sees, and the data
    order of an epoch depends only on (seed, epoch): a resumed run needs no sampler state.
    Incomplete last batches are dropped so every step has the full global batch.
    """

    def __init__(self, num_samples: int, global_batch: int, info: DistInfo | None = None, seed: int = 0,
                 shuffle: bool = True, max_batches: int | None = None) -> None:
        info = info or DistInfo()
        if global_batch % info.world_size:
            raise ValueError(f"batch_size {global_batch} must be divisible by the number of processes "
                             f"({info.world_size})")
        self.n, self.batch, self.info, self.seed, self.shuffle = num_samples, global_batch, info, seed, shuffle
        self.local = global_batch // info.world_size
        self.max_batches = max_batches
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order to yield."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        n = max(self.n // self.batch, 1 if self.n >= self.local * self.info.world_size else 0)
        return min(n, self.max_batches) if self.max_batches else n

    def __iter__(self):
        order = (np.random.default_rng([self.seed, self.epoch]).permutation(self.n) if self.shuffle
                 else np.arange(self.n))
        if len(order) < self.batch:  # tiny datasets: wrap around to fill one global batch
            order = np.resize(order, self.batch)
        r = self.info.rank
        for b in range(len(self)):
            chunk = order[b * self.batch:(b + 1) * self.batch]
            yield [(int(i), self.epoch) for i in chunk[r * self.local:(r + 1) * self.local]]
