"""Two CPU processes (torchrun, gloo) give the weights of one process with the same global batch.

The test model has no BatchNorm (GroupNorm only) and no dropout: its forward pass is
per-sample, so splitting a batch over processes changes nothing but float summation order.
Models with BatchNorm train under DDP with SyncBatchNorm (config ``sync_bn: true``), whose
statistics over the global batch match one process's only up to the same rounding.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from conftest import tiny_config  # noqa: E402
from tiny_model import TinySimCC, tiny_spec  # noqa: E402
from trainer.train import read_training_checkpoint, train_from_config  # noqa: E402

pytestmark = [pytest.mark.shared, pytest.mark.slow]
WORKER = Path(__file__).resolve().parent / "ddp_worker.py"


def test_two_process_ddp_matches_one_process(mini_subset, tmp_path):
    over = {"schedule": {"epochs": 2, "val_interval": 2, "ckpt_interval": 0}, "optim": {"warmup_iters": 0}}
    one = tiny_config(mini_subset, tmp_path / "one", **over)
    torch.manual_seed(0)
    train_from_config(one, model=TinySimCC(17, (32, 48)), spec=tiny_spec((32, 48)))

    two = tiny_config(mini_subset, tmp_path / "two", **over)
    cfg_path = tmp_path / "two.json"
    cfg_path.write_text(json.dumps(two))
    env = dict(os.environ, OMP_NUM_THREADS="1", MASTER_ADDR="127.0.0.1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--nnodes=1",
           "--rdzv_backend=c10d", "--rdzv_endpoint=127.0.0.1:0", str(WORKER), str(cfg_path)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]

    a = read_training_checkpoint(tmp_path / "one/last.pth")["extra"]["train_state"]
    b = read_training_checkpoint(tmp_path / "two/last.pth")["extra"]["train_state"]
    assert b["world_size"] == 2 and a["iter"] == b["iter"] > 0
    for k, v in a["model"].items():
        torch.testing.assert_close(b["model"][k], v, rtol=1e-4, atol=1e-6, msg=k)
    # the weights moved, so the comparison is not between two initialisations
    torch.manual_seed(0)
    init = TinySimCC(17, (32, 48)).state_dict()
    assert any(not torch.allclose(init[k], a["model"][k]) for k in init)
    # rank 0 alone wrote the log and validated
    assert (tmp_path / "two/metrics.csv").read_text().count("\n") == 3
