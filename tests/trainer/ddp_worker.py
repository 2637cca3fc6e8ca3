"""One process of the 2-process DDP test (launched by torchrun from test_ddp.py).

usage: ddp_worker.py CONFIG_JSON
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tiny_model
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository (trainer, poselive)

import torch  # noqa: E402

from tiny_model import TinySimCC, tiny_spec  # noqa: E402
from trainer.train import train_from_config  # noqa: E402

if __name__ == "__main__":
    cfg = json.loads(Path(sys.argv[1]).read_text())
    torch.manual_seed(0)
    model = TinySimCC(17, (32, 48))
    try:
        train_from_config(cfg, model=model, spec=tiny_spec((32, 48)))
    finally:
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
    # Once in a while (1 of ~30 runs here, on a loaded machine) a gloo thread still
    # joinable at interpreter teardown aborts the process ("terminate called without an
    # active exception") after training has finished and written its files. Everything
    # the test compares is on disk by now, so skip the C++ static destructors.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
