"""The training loop: ``train_from_config`` for ``poselive train CONFIG``.

One loop for one or several processes (``torchrun`` + DDP): AdamW with warm-up and cosine
decay, gradient clipping, EMA weights, mixed precision where it helps, checkpoints every
N epochs and for the best validation AP, exact resume, tqdm progress, ``metrics.csv``.

Determinism: every sample's augmentation is seeded by (seed, epoch, index) and each
epoch's order by (seed, epoch), so the data a step sees does not depend on workers,
processes or interruptions; the learning rate is a function of the iteration; model,
optimizer, EMA, grad scaler and torch/numpy/python RNG states go into every checkpoint.
A run resumed from epoch e therefore reproduces the uninterrupted run bit for bit (on
the same machine and thread count).

Run as a module for several processes:
``torchrun --nproc_per_node=2 -m trainer.train configs/overfit-coco-mini.yaml``.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from poselive.errors import ConfigError, ModelError, PoseliveError, require
from poselive.interrupts import reraise_interrupt

torch = require("torch", "train", "training")

from poselive.keypoints import get_keypoint_set  # noqa: E402
from trainer.config import deep_merge, load_config  # noqa: E402
from trainer.data.datasets import CocoKeypointDataset, load_known_format  # noqa: E402
from trainer.data.transforms import SeededDataset, build_pose_pipeline  # noqa: E402
from trainer.distributed import DistInfo, GlobalBatchSampler, barrier, broadcast_object, init_distributed  # noqa: E402
from trainer.losses import build_loss  # noqa: E402
from trainer.optim import ModelEMA, build_optimizer, lr_factor  # noqa: E402
from trainer.predict import TorchPosePredictor, model_outputs  # noqa: E402

CSV_FIELDS = ["epoch", "iter", "lr", "loss", "grad_norm", "samples_per_s", "epoch_time_s", "AP", "AP50", "AP75", "AR"]


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch."""
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)


def rng_states() -> dict:
    """Python, numpy and torch RNG states (CUDA too when present), as plain lists and
    tensors so that checkpoints stay loadable with ``torch.load(weights_only=True)``."""
    py = random.getstate()
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    st = {"python": [py[0], list(py[1]), py[2]],
          "numpy": [name, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(gauss)],
          "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        st["cuda"] = torch.cuda.get_rng_state_all()
    return st


def set_rng_states(st: dict) -> None:
    """Restore ``rng_states()``."""
    py = st["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    name, keys, pos, has_gauss, gauss = st["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(st["torch"])
    if "cuda" in st and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(st["cuda"])


def resolve_device(name: str) -> "torch.device":
    """'auto' -> this process's CUDA device if any, else CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        return torch.device("cpu")
    return torch.device(name)


def build_model_from_config(mcfg: dict) -> tuple["torch.nn.Module", dict]:
    """The model and its spec from the config's ``model`` section (checkpoint, spec or preset)."""
    try:
        from poselive import models
    except ImportError as exc:
        raise ConfigError("poselive.models is not available; pass a model to Trainer(model=..., spec=...)") from exc
    if mcfg.get("checkpoint"):
        return models.load_model(mcfg["checkpoint"])
    spec = mcfg.get("spec")
    if spec is None:
        if not mcfg.get("preset"):
            raise ConfigError("the config's model section needs one of: checkpoint, spec, preset")
        spec = models.preset_spec(mcfg["preset"])
    overrides = {k: v for k, v in mcfg.items() if k not in ("checkpoint", "spec", "preset")}
    spec = deep_merge(spec, overrides)  # e.g. input_size, keypoint_set, codec.sigma beside a preset
    model = models.build_model(spec)
    return model, getattr(model, "spec", spec)


def build_pose_dataset(dcfg: dict, kset_name: str, mode: str) -> CocoKeypointDataset:
    """A keypoint dataset from a config's data section (``ann``, ``images``, ``format``)."""
    if not dcfg or not dcfg.get("ann") or not dcfg.get("images"):
        raise ConfigError(f"data.{'train' if mode == 'train' else 'val'} needs 'ann' and 'images'")
    fmt = dcfg.get("format", "coco")
    kw: dict[str, Any] = {"mode": mode}
    if mode == "eval" and dcfg.get("det_results"):
        kw["det_results"] = dcfg["det_results"]
    if fmt == "coco" and kset_name:
        return CocoKeypointDataset(dcfg["ann"], dcfg["images"], kset_name, **kw)
    return load_known_format(fmt, dcfg["ann"], dcfg["images"], keypoint_set=kset_name, **kw)


def build_box_dataset(dcfg: dict | list):
    """A person-box dataset from a config's data section: COCO json (``ann``, ``images``)
    or YOLO labels (``format: yolo``, ``images``, ``labels``); a list of such sections is
    their concatenation, each repeated ``repeat`` times (default 1) to weight small sets."""
    from trainer.data.datasets import PersonBoxDataset

    if isinstance(dcfg, list):
        if not dcfg:
            raise ConfigError("data.train is an empty list; give at least one box dataset")
        items: list = []
        for part in dcfg:
            repeat = int((part or {}).get("repeat", 1))
            if repeat < 1:
                raise ConfigError(f"repeat must be a positive whole number, not {part.get('repeat')}")
            items.extend(build_box_dataset(part).items * repeat)
        return PersonBoxDataset(items)
    fmt = (dcfg or {}).get("format", "coco")
    if fmt == "yolo":
        if not dcfg.get("images") or not dcfg.get("labels"):
            raise ConfigError("YOLO box data needs 'images' and 'labels' folders")
        return PersonBoxDataset.from_yolo(dcfg["images"], dcfg["labels"])
    if fmt == "coco":
        if not dcfg.get("ann") or not dcfg.get("images"):
            raise ConfigError("COCO box data needs 'ann' and 'images'")
        return PersonBoxDataset.from_coco(dcfg["ann"], dcfg["images"])
    raise ConfigError(f"unknown box data format '{fmt}'; use coco or yolo")


def _packed(sample: dict, rng: Any) -> dict:
    """The pipeline of a training set whose samples come ready (inputs, targets, weights)."""
    return sample


def freeze_parameters(model: "torch.nn.Module", prefixes: list[str]) -> int:
    """Stop training the parameters whose names start with one of ``prefixes``; returns how many."""
    n = 0
    names = [name for name, _ in model.named_parameters()]
    for prefix in prefixes:
        if not any(name.startswith(prefix) for name in names):
            raise ConfigError(f"freeze: no parameter of the model starts with '{prefix}'")
    for name, p in model.named_parameters():
        if any(name.startswith(prefix) for prefix in prefixes):
            p.requires_grad_(False)
            n += p.numel()
    return n


class _HeadForward(torch.nn.Module):
    """Calls only the model's head, on precomputed (frozen backbone + neck) features."""

    def __init__(self, model: "torch.nn.Module") -> None:
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model.head((x,))


class _TrainForward(torch.nn.Module):
    """Calls ``forward_train`` as this module's forward (for DDP)."""

    def __init__(self, model: "torch.nn.Module") -> None:
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model.forward_train(x)


class Trainer:
    """Trains a pose model or a person detector as described by a config dict (see ``trainer.config.DEFAULTS``).

    ``model`` and ``spec`` may be given directly (tests, notebooks); otherwise they come
    from the config's ``model`` section through ``poselive.models``.
    """

    def __init__(self, cfg: dict, model: "torch.nn.Module | None" = None, spec: dict | None = None) -> None:
        self.task = cfg.get("task", "pose")
        if self.task not in ("pose", "detector"):
            raise ConfigError(f"task must be 'pose' or 'detector', not '{self.task}'")
        self.cfg = cfg
        self.device = resolve_device(cfg.get("device", "auto"))
        if cfg.get("threads"):
            torch.set_num_threads(int(cfg["threads"]))
        self.dist: DistInfo = init_distributed(self.device)
        seed_everything(int(cfg["seed"]))
        if model is None:
            model, spec = build_model_from_config(cfg["model"])
        if spec is None:
            raise ConfigError("a model given directly needs its spec too")
        self.spec = dict(spec)
        if self.spec.get("task", self.task) != self.task:
            raise ConfigError(f"the config's task is '{self.task}' but the model is a {self.spec.get('task')} model")
        self.kset = get_keypoint_set(self.spec.get("keypoint_set", "coco17")) if self.task == "pose" else None
        self.work_dir = Path(cfg["work_dir"])
        if self.dist.is_main:
            self.work_dir.mkdir(parents=True, exist_ok=True)

        data = cfg["data"]
        collate = None
        if self.task == "pose" and (data.get("train") or {}).get("format") == "movenet_distill":
            from trainer.distill import MoveNetDistillSet

            tcfg = {k: v for k, v in data["train"].items() if k not in ("format", "path")}
            train_raw = MoveNetDistillSet(data["train"]["path"], self.spec, **tcfg)
            pipeline = _packed  # targets were computed once; augmentation would misalign them
        elif self.task == "pose":
            train_raw = build_pose_dataset(data["train"], self.kset.name, "train")
            if len(train_raw) == 0:
                raise ConfigError("the training set has no person with labelled keypoints")
            pipeline = build_pose_pipeline(self.spec, self.kset, cfg["augment"], train=True,
                                           cache_images=bool(data.get("cache_images")))
        else:
            from trainer.data.det_transforms import build_detector_pipeline, collate_detection

            train_raw = build_box_dataset(data["train"])
            pipeline = build_detector_pipeline(self.spec, train_raw, cfg["augment"], train=True)
            collate = collate_detection
        self.train_set = SeededDataset(train_raw, pipeline, seed=int(cfg["seed"]))
        sched = cfg["schedule"]
        self.sampler = GlobalBatchSampler(len(train_raw), int(sched["batch_size"]), self.dist, seed=int(cfg["seed"]),
                                          max_batches=sched.get("max_iters_per_epoch"))
        workers = int(data.get("workers", 0))
        self.loader = torch.utils.data.DataLoader(
            self.train_set, batch_sampler=self.sampler, num_workers=workers, collate_fn=collate,
            pin_memory=self.device.type == "cuda", persistent_workers=workers > 0)
        self.iters_per_epoch = len(self.sampler)
        if self.iters_per_epoch == 0:
            raise ConfigError(f"batch_size {sched['batch_size']} is larger than the training set "
                              f"({len(train_raw)} persons); lower it")
        self.epochs = int(sched["epochs"])
        self.total_iters = self.epochs * self.iters_per_epoch

        model = model.to(self.device)
        self.frozen = freeze_parameters(model, cfg.get("freeze") or [])
        if self.dist.enabled and cfg.get("sync_bn", True):
            # BatchNorm statistics differ per process; SyncBN computes them over the global batch.
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        self.model = model
        # Detectors train through forward_train (raw outputs for the loss); wrapping that call
        # in a module lets DDP see it as the forward pass and synchronise gradients.
        net = _TrainForward(model) if hasattr(model, "forward_train") else model
        if getattr(train_raw, "feeds", "images") == "features":
            bad = [n for n, p in model.named_parameters() if p.requires_grad and not n.startswith("head.")]
            if bad:
                raise ConfigError("training on precomputed features needs the backbone and neck frozen "
                                  f"(freeze: [backbone, neck]); trainable: {bad[:3]}")
            net = _HeadForward(model)
        self.ddp = (torch.nn.parallel.DistributedDataParallel(net, device_ids=[self.device.index] if self.device.type == "cuda" else None)
                    if self.dist.enabled else net)
        self.optimizer = build_optimizer(model, cfg["optim"])
        self.base_lrs = [g["lr"] for g in self.optimizer.param_groups]
        self.loss_fn = build_loss(cfg.get("loss"), self.spec) if self.task == "pose" else None
        ema_cfg = cfg.get("ema") or {}
        self.ema = (ModelEMA(model, float(ema_cfg.get("decay", 0.9998)), float(ema_cfg.get("ramp", 2000.0)))
                    if ema_cfg.get("enabled", True) else None)
        # Fine-tuning with small batches: keep BatchNorm statistics fixed (scale and shift still learn).
        self.freeze_bn = bool(cfg.get("freeze_bn", False))
        self.amp = self._amp_mode(cfg.get("amp", "auto"))
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp == "fp16")
        self.epoch = 0  # epochs completed
        self.iter = 0
        self.best_ap = -1.0
        self.best_epoch = -1
        self.history: list[dict] = []
        self._tb = None
        if cfg.get("resume"):
            self._resume(cfg["resume"])

    # ----------------------------------------------------------------- set-up helpers
    def _amp_mode(self, mode: str) -> str:
        if mode == "auto":
            return "fp16" if self.device.type == "cuda" else "off"
        if mode not in ("off", "bf16", "fp16"):
            raise ConfigError(f"amp must be auto, off, bf16 or fp16, not '{mode}'")
        if mode == "fp16" and self.device.type != "cuda":
            raise ConfigError("fp16 mixed precision needs CUDA; use amp: bf16 or off on the CPU")
        return mode

    def _autocast(self):
        if self.amp == "off":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.amp == "bf16" else torch.float16
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    # ----------------------------------------------------------------- checkpoints
    def state(self) -> dict:
        """Everything needed to continue this run exactly."""
        return {"epoch": self.epoch, "iter": self.iter, "optimizer": self.optimizer.state_dict(),
                "scaler": self.scaler.state_dict(), "ema": self.ema.state_dict() if self.ema else None,
                "model": self.model.state_dict(), "best_ap": self.best_ap, "best_epoch": self.best_epoch,
                "history": self.history, "rng": rng_states(), "world_size": self.dist.world_size}

    def _provenance(self) -> dict:
        data = self.cfg["data"]
        train = data.get("train") or {}
        return {"trainer": "poselive.trainer", "epochs_trained": self.epoch, "iterations": self.iter,
                "train_data": ([{k: str(v) for k, v in part.items()} for part in train] if isinstance(train, list)
                               else {k: str(v) for k, v in train.items()}),
                "val_data": {k: str(v) for k, v in (data.get("val") or {}).items()},
                "train_persons": len(self.train_set), "best_ap": self.best_ap, "best_epoch": self.best_epoch,
                "seed": self.cfg["seed"], "torch": torch.__version__}

    def save(self, path: Path) -> Path:
        """Write a self-describing checkpoint: weights (EMA when used), spec, config,
        provenance, and the training state for resuming."""
        weights = (self.ema.module if self.ema else self.model)
        spec = dict(self.spec)
        spec["provenance"] = {**spec.get("provenance", {}), **self._provenance()}
        save_checkpoint(path, weights, spec, extra={"train_state": self.state(), "config": self.cfg,
                                                    "epoch": self.epoch, "metrics": self.history[-1] if self.history else {}})
        return path

    def _resume(self, where: str) -> None:
        path = self.work_dir / "last.pth" if where == "auto" else Path(where)
        if not path.is_file():
            if where == "auto":
                return
            raise ModelError(f"cannot resume: {path} does not exist")
        ckpt = read_training_checkpoint(path)
        st = (ckpt.get("extra") or {}).get("train_state")
        if st is None:
            raise ModelError(f"{path} has no training state (it is an inference checkpoint); "
                             "fine-tune from it with model.checkpoint instead of resume")
        if st.get("world_size", 1) != self.dist.world_size:
            print(f"note: resuming a {st.get('world_size')}-process run on {self.dist.world_size} processes; "
                  "the data order stays the same, bitwise reproduction is not expected", file=sys.stderr)
        self.model.load_state_dict(st["model"])
        self.optimizer.load_state_dict(st["optimizer"])
        self.scaler.load_state_dict(st["scaler"])
        if self.ema and st.get("ema"):
            self.ema.load_state_dict(st["ema"])
        self.epoch, self.iter = int(st["epoch"]), int(st["iter"])
        self.best_ap, self.best_epoch = float(st["best_ap"]), int(st["best_epoch"])
        self.history = list(st.get("history", []))
        set_rng_states(st["rng"])

    # ----------------------------------------------------------------- loop
    def _set_lr(self) -> float:
        o = self.cfg["optim"]
        f = lr_factor(self.iter, self.total_iters, int(o.get("warmup_iters", 0)), float(o.get("warmup_ratio", 0.001)),
                      float(o.get("min_lr_ratio", 0.05)))
        for g, base in zip(self.optimizer.param_groups, self.base_lrs):
            g["lr"] = base * f
        return self.base_lrs[0] * f

    def _step(self, batch: dict) -> tuple[float, float]:
        x = batch["inputs"].to(self.device, non_blocking=True)
        if self.task == "detector":
            boxes = [b.to(self.device) for b in batch["boxes"]]
            with self._autocast():
                out = self.ddp(x)
            loss = self.model.loss({k: v.float() for k, v in out.items()}, boxes)["loss"]
        else:
            targets = {k: v.to(self.device, non_blocking=True) for k, v in batch["targets"].items()}
            weights = batch["weights"].to(self.device, non_blocking=True)
            with self._autocast():
                out = model_outputs(self.ddp(x), list(self.spec.get("outputs") or ["simcc_x", "simcc_y"]))
            loss = self.loss_fn(out, targets, weights)
        if not torch.isfinite(loss):
            raise PoseliveError(f"the loss became {loss.item()} at iteration {self.iter}; lower optim.lr "
                                "or raise optim.warmup_iters")
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(self.optimizer)
        clip = self.cfg["optim"].get("grad_clip")
        params = [p for p in self.model.parameters() if p.grad is not None]
        gn = torch.nn.utils.clip_grad_norm_(params, float(clip)) if clip else torch.linalg.vector_norm(
            torch.stack([p.grad.norm() for p in params]))
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.ema:
            self.ema.update(self.model)
        return float(loss.detach()), float(gn)

    def validate(self) -> dict[str, float]:
        """COCO AP of the current (EMA) weights on the validation set; rank 0 only."""
        vcfg = self.cfg["data"].get("val")
        if not vcfg:
            return {}
        from trainer.evaluate import evaluate_estimator

        net = self.ema.module if self.ema else self.model
        if self.task == "detector":
            from trainer.evaluate import evaluate_detector_model

            return evaluate_detector_model(net, self.spec, build_box_dataset(vcfg), self.device)
        predictor = TorchPosePredictor(net, self.spec, self.device)
        metrics, _ = evaluate_estimator(predictor, vcfg["ann"], vcfg["images"], self.kset,
                                        det_results=vcfg.get("det_results"),
                                        flip_test=bool(self.cfg["eval"].get("flip_test")),
                                        score_threshold=self.cfg["eval"].get("score_threshold"))
        return metrics

    def fit(self, stop_after: int | None = None) -> dict[str, Any]:
        """Train until ``schedule.epochs`` (or for at most ``stop_after`` more epochs, as if
        interrupted); returns a summary (best AP, paths, last metrics)."""
        sched = self.cfg["schedule"]
        show = self.dist.is_main and self.cfg["log"].get("progress", True)
        self._open_tensorboard()
        last = self.epochs if stop_after is None else min(self.epochs, self.epoch + int(stop_after))
        while self.epoch < last:
            epoch = self.epoch
            self.sampler.set_epoch(epoch)
            self.ddp.train()
            if self.freeze_bn:
                for m in self.model.modules():
                    if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                        m.eval()
            t0 = time.perf_counter()
            losses, norms, seen = [], [], 0
            bar = None
            if show:
                from tqdm import tqdm

                bar = tqdm(total=self.iters_per_epoch, desc=f"epoch {epoch + 1}/{self.epochs}", dynamic_ncols=True,
                           leave=False)
            for batch in self.loader:
                lr = self._set_lr()
                loss, gn = self._step(batch)
                self.iter += 1
                losses.append(loss)
                norms.append(gn)
                seen += batch["inputs"].shape[0] * self.dist.world_size
                if bar is not None:
                    rate = seen / max(time.perf_counter() - t0, 1e-9)
                    bar.set_postfix(loss=f"{loss:.4g}", lr=f"{lr:.2e}", img_s=f"{rate:.1f}")
                    bar.update(1)
            if bar is not None:
                bar.close()
            self.epoch += 1
            dt = time.perf_counter() - t0
            row = {"epoch": self.epoch, "iter": self.iter, "lr": self.optimizer.param_groups[0]["lr"],
                   "loss": float(np.mean(losses)), "grad_norm": float(np.mean(norms)),
                   "samples_per_s": seen / max(dt, 1e-9), "epoch_time_s": dt}
            do_val = (int(sched.get("val_interval") or 0) > 0 and self.cfg["data"].get("val")
                      and (self.epoch % int(sched["val_interval"]) == 0 or self.epoch == self.epochs))
            metrics = self.validate() if (do_val and self.dist.is_main) else {}
            metrics = broadcast_object(metrics, self.dist)
            row.update({k: metrics.get(k) for k in ("AP", "AP50", "AP75")})
            row["AR"] = metrics.get("AR", metrics.get("AR100"))  # box metrics name it AR100
            improved = bool(metrics) and metrics["AP"] > self.best_ap
            if improved:
                self.best_ap, self.best_epoch = float(metrics["AP"]), self.epoch
            self.history.append(row)
            if self.dist.is_main:
                self._log(row, eta=dt * (self.epochs - self.epoch))
                interval = int(sched.get("ckpt_interval") or 0)
                self.save(self.work_dir / "last.pth")
                if interval and self.epoch % interval == 0:
                    self.save(self.work_dir / f"epoch_{self.epoch}.pth")
                if improved:
                    self.save(self.work_dir / "best.pth")
            barrier(self.dist)
        if self._tb is not None:
            self._tb.close()
        return {"work_dir": str(self.work_dir), "epochs": self.epoch, "iterations": self.iter,
                "best_ap": self.best_ap, "best_epoch": self.best_epoch,
                "last": self.history[-1] if self.history else {},
                "best_checkpoint": str(self.work_dir / "best.pth") if self.best_epoch > 0 else None,
                "last_checkpoint": str(self.work_dir / "last.pth")}

    # ----------------------------------------------------------------- logging
    def _open_tensorboard(self) -> None:
        if not (self.dist.is_main and self.cfg["log"].get("tensorboard", True)):
            return
        try:  # optional: needs the tensorboard package, which is not a poselive dependency
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(self.work_dir / "tb"))
        except ImportError as exc:
            reraise_interrupt(exc)
            self._tb = None

    def _log(self, row: dict, eta: float) -> None:
        path = self.work_dir / "metrics.csv"
        new = not path.is_file() or self.epoch == 1
        with open(path, "w" if new else "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=CSV_FIELDS)
            if new:
                w.writeheader()
            w.writerow({k: ("" if row.get(k) is None else row[k]) for k in CSV_FIELDS})
        if self._tb is not None:
            for k, v in row.items():
                if v is not None and k not in ("epoch", "iter"):
                    self._tb.add_scalar(f"train/{k}" if k in ("lr", "loss", "grad_norm", "samples_per_s") else f"val/{k}",
                                        v, self.epoch)
        ap = f" AP {row['AP']:.4f}" if row.get("AP") is not None else ""
        if True:  # one line per epoch even without progress bars (logs of long runs)
            print(f"epoch {self.epoch}/{self.epochs}: loss {row['loss']:.5g} lr {row['lr']:.3e}{ap} "
                  f"{row['samples_per_s']:.1f} samples/s, ETA {eta / 60:.1f} min", file=sys.stderr, flush=True)


def save_checkpoint(path: Path, model: "torch.nn.Module", spec: dict, extra: dict) -> None:
    """Write a checkpoint through ``poselive.models.save_checkpoint`` when it is there (so
    ``load_model`` rebuilds the model from the file alone), else a plain dict of the same shape."""
    path = Path(path)
    try:
        from poselive.models import save_checkpoint as models_save
    except ImportError as exc:
        reraise_interrupt(exc)
        models_save = None
    if models_save is not None:
        models_save(path, model, spec, **extra)
        return
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save({"format": "poselive-checkpoint", "version": 1, "spec": spec, "state_dict": model.state_dict(),
                "extra": extra}, tmp)
    os.replace(tmp, path)  # never leave a half-written last.pth behind


def read_training_checkpoint(path: Path) -> dict:
    """The raw checkpoint dict (``spec``, ``state_dict``, ``extra``), loaded weights-only."""
    try:
        from poselive.models import read_checkpoint
    except ImportError as exc:
        reraise_interrupt(exc)
        return torch.load(path, map_location="cpu", weights_only=True)
    return read_checkpoint(path)


def train_from_config(path_or_dict: str | Path | dict, overrides: dict | list | None = None,
                      model: "torch.nn.Module | None" = None, spec: dict | None = None) -> dict[str, Any]:
    """``poselive train CONFIG [--set key=value ...]``: train and return the run summary."""
    cfg = load_config(path_or_dict, overrides)
    trainer = Trainer(cfg, model=model, spec=spec)
    summary = trainer.fit()
    if trainer.dist.is_main:
        Path(cfg["work_dir"], "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary


def main(argv: list[str] | None = None) -> int:
    """``python -m trainer.train CONFIG [key=value ...]`` (also under torchrun)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print("usage: python -m trainer.train CONFIG [key=value ...]", file=sys.stderr)
        return 2
    try:
        summary = train_from_config(args[0], overrides=args[1:])
    except PoseliveError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(summary, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
