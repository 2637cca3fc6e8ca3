"""TensorRT 10 backend: build a serialized engine from ONNX, and run one.

Device buffers are torch CUDA tensors, host staging buffers are pinned, and every copy
and the execution go on one CUDA stream. ``tensorrt`` (and torch with CUDA) are optional:
without them, building or opening an engine raises MissingExtraError naming the extra.

The module objects are injectable (``trt=`` and ``memory=``) so that the configuration
logic is tested without a GPU against ``engines._trt_double.FakeTensorRT``; the code
below is the real TensorRT 10 code path.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from engines.base import TensorInfo
from engines.cache import ENVIRONMENT_FIELDS, check_compatible, read_sidecar, sidecar_path
from poselive.errors import ConfigError, ModelError, require

log = logging.getLogger("poselive.engines")

PRECISIONS = ("fp32", "fp16", "int8")
DEFAULT_OPT_BATCH = 8  # a typical number of people per frame
DEFAULT_WORKSPACE = 2 << 30  # 2 GiB of builder scratch memory


def import_tensorrt() -> Any:
    """The ``tensorrt`` module, or MissingExtraError naming the ``tensorrt`` extra."""
    return require("tensorrt", "tensorrt", "the TensorRT backend")


class TorchCudaMemory:
    """Device buffers, pinned host buffers and a CUDA stream, all through torch."""

    def __init__(self, device: int = 0) -> None:
        self.torch = require("torch", "torch", "TensorRT device buffers")
        if not self.torch.cuda.is_available():
            raise ModelError("TensorRT needs a CUDA GPU and none is visible; "
                             "use --backend onnxruntime on this machine")
        self.index = int(device)
        if not 0 <= self.index < self.torch.cuda.device_count():
            raise ModelError(f"GPU {self.index} does not exist (this machine has "
                             f"{self.torch.cuda.device_count()}); pass device=0..N-1")
        # TensorRT works on the current CUDA device: make it ours before deserialising.
        self.torch.cuda.set_device(self.index)
        self.device = self.torch.device("cuda", self.index)
        self.stream = self.torch.cuda.Stream(self.device)

    def _dtype(self, dtype: Any) -> Any:
        # numpy -> torch dtype through an empty array (covers every type both know).
        return self.torch.from_numpy(np.empty(0, dtype)).dtype

    def alloc(self, shape: tuple[int, ...], dtype: Any) -> Any:
        """An uninitialised device buffer."""
        return self.torch.empty(tuple(shape), dtype=self._dtype(dtype), device=self.device)

    def pinned(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """A page-locked host array (so copies to and from the GPU are asynchronous)."""
        t = self.torch.empty(tuple(shape), dtype=self._dtype(dtype), pin_memory=True)
        return t.numpy()  # the array keeps the tensor (and its pinned memory) alive

    def view(self, buf: Any, shape: tuple[int, ...]) -> Any:
        """The first prod(shape) elements of a device buffer, in ``shape`` (same address)."""
        n = 1
        for d in shape:
            n *= int(d)
        return buf.view(-1)[:n].view(tuple(shape))

    def ptr(self, buf: Any) -> int:
        """Device address of a buffer."""
        return int(buf.data_ptr())

    def upload(self, buf: Any, host: np.ndarray) -> None:
        """Host -> device copy queued on the stream."""
        with self.torch.cuda.stream(self.stream):
            buf.copy_(self.torch.from_numpy(np.ascontiguousarray(host)), non_blocking=True)

    def download(self, buf: Any, host: np.ndarray) -> None:
        """Device -> host copy queued on the stream (valid after ``synchronize``)."""
        with self.torch.cuda.stream(self.stream):
            self.torch.from_numpy(host).copy_(buf, non_blocking=True)

    @property
    def stream_handle(self) -> int:
        """The raw ``cudaStream_t`` for ``execute_async_v3``."""
        return int(self.stream.cuda_stream)

    def synchronize(self) -> None:
        """Wait for everything queued on the stream."""
        self.stream.synchronize()

    def device_name(self) -> str:
        """GPU model, e.g. 'NVIDIA H100 80GB HBM3'."""
        return str(self.torch.cuda.get_device_name(self.index))

    def compute_capability(self) -> str:
        """Compute capability as 'major.minor'."""
        major, minor = self.torch.cuda.get_device_capability(self.index)
        return f"{major}.{minor}"


def environment(trt: Any, memory: Any) -> dict[str, str]:
    """The build-environment fields of the cache key: TensorRT version, GPU, compute capability."""
    return {"trt_version": str(trt.__version__), "gpu": memory.device_name(),
            "compute_capability": memory.compute_capability()}


def profile_shapes(shape: tuple[int, ...], max_batch: int, opt_batch: int = DEFAULT_OPT_BATCH,
                   input_size: tuple[int, int] | None = None) -> tuple[tuple[int, ...], ...]:
    """(min, opt, max) shapes of an input for the optimisation profile.

    The batch dimension (first) goes 1 / min(opt_batch, max_batch) / max_batch; other
    dynamic dimensions (-1) take the spec's input size (NCHW: H, W; NHWC: H, W).
    """
    if max_batch < 1:
        raise ConfigError(f"max batch must be at least 1, got {max_batch}")
    dims = [int(d) for d in shape]
    rest = dims[1:]
    if any(d < 0 for d in rest):
        if input_size is None:
            raise ConfigError(f"input shape {tuple(shape)} has dynamic spatial dims; the spec needs input_size")
        w, h = int(input_size[0]), int(input_size[1])
        # Channels-first ([C,H,W]) when the first non-batch dim is a channel count,
        # else channels-last ([H,W,C], the uint8_nhwc format).
        hw_pos = (1, 2) if len(rest) == 3 and rest[0] in (1, 3) else (0, 1)
        fill = {hw_pos[0]: h, hw_pos[1]: w}
        rest = [fill.get(i, d) if d < 0 else d for i, d in enumerate(rest)]
        if any(d < 0 for d in rest):
            raise ConfigError(f"cannot choose a profile for input shape {tuple(shape)}")
    if dims[0] >= 0:  # static batch: the profile must match it exactly
        fixed = (dims[0], *rest)
        return fixed, fixed, fixed
    opt = max(1, min(opt_batch, max_batch))
    return (1, *rest), (opt, *rest), (max_batch, *rest)


def build_engine(onnx_path: str | Path, engine_path: str | Path, *, precision: str = "fp32",
                 max_batch: int = 32, opt_batch: int = DEFAULT_OPT_BATCH,
                 input_size: tuple[int, int] | None = None, calibrator: Any = None,
                 timing_cache: str | Path | None = None, workspace_bytes: int = DEFAULT_WORKSPACE,
                 trt: Any = None) -> dict[str, Any]:
    """Compile an ONNX file into a serialized TensorRT engine; returns the build details.

    The details (profile shapes per input, flags) go into the engine's sidecar.
    """
    if precision not in PRECISIONS:
        raise ConfigError(f"unknown precision '{precision}'; choose one of {', '.join(PRECISIONS)}")
    if precision == "int8" and calibrator is None:
        raise ConfigError("int8 needs calibration data: pass --calib-data DIR (images of people)")
    trt = trt or import_tensorrt()
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # explicit batch is the only mode in TensorRT 10
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ModelError(f"TensorRT could not parse {onnx_path}: {errors or 'unknown error'}; "
                         "re-export the model with: poselive build CHECKPOINT")

    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_bytes))
    profile = builder.create_optimization_profile()
    shapes: dict[str, list[list[int]]] = {}
    for i in range(network.num_inputs):
        tensor = network.get_input(i)
        mn, opt, mx = profile_shapes(tuple(tensor.shape), max_batch, opt_batch, input_size)
        profile.set_shape(tensor.name, mn, opt, mx)
        shapes[tensor.name] = [list(mn), list(opt), list(mx)]
    config.add_optimization_profile(profile)

    flags = []
    if precision in ("fp16", "int8"):
        # INT8 keeps FP16 on so layers without an INT8 kernel fall back to FP16, not FP32.
        config.set_flag(trt.BuilderFlag.FP16)
        flags.append("FP16")
    if precision == "int8":
        config.set_flag(trt.BuilderFlag.INT8)
        flags.append("INT8")
        config.int8_calibrator = calibrator
        # Calibration runs at one fixed shape: the calibrator's batch size.
        calib_profile = builder.create_optimization_profile()
        cb = int(calibrator.get_batch_size())
        for i in range(network.num_inputs):
            tensor = network.get_input(i)
            one = tuple([cb] + shapes[tensor.name][1][1:])
            calib_profile.set_shape(tensor.name, one, one, one)
        config.set_calibration_profile(calib_profile)

    cache_file = Path(timing_cache) if timing_cache else None
    blob = cache_file.read_bytes() if cache_file and cache_file.is_file() else b""
    tcache = config.create_timing_cache(blob)
    config.set_timing_cache(tcache, False)  # a mismatching cache is rejected, not half-used

    log.info("building TensorRT engine %s (%s, batch 1..%d) from %s", engine_path, precision,
             max_batch, onnx_path)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ModelError(f"TensorRT failed to build an engine from {onnx_path} ({precision}); "
                         "see the TensorRT log above, or try --precision fp32")
    out = Path(engine_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(bytes(serialized))
    tmp.replace(out)
    if cache_file is not None:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        cache_file.write_bytes(bytes(config.get_timing_cache().serialize()))
    return {"profile_shapes": shapes, "flags": flags, "precision": precision,
            "trt_version": str(trt.__version__)}


def _dims(shape: Any) -> tuple[int | None, ...]:
    return tuple(None if int(d) < 0 else int(d) for d in shape)


class TensorRTEngine:
    """Runs a serialized TensorRT engine (``.engine`` / ``.plan``) on one GPU."""

    backend = "tensorrt"

    def __init__(self, path: str | Path, device: int = 0, *, expected: dict[str, Any] | None = None,
                 trt: Any = None, memory: Any = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelError(f"engine file {self.path} does not exist; build it with: "
                             "poselive build CHECKPOINT --backend tensorrt")
        self.trt = trt or import_tensorrt()
        self.memory = memory or TorchCudaMemory(device)
        self.spec: dict[str, Any] = {}
        if sidecar_path(self.path).is_file():
            self.spec = read_sidecar(self.path)
            self._check_environment()
        if expected:
            check_compatible(self.spec, expected)

        self._logger = self.trt.Logger(self.trt.Logger.WARNING)
        self._runtime = self.trt.Runtime(self._logger)
        self._engine = self._runtime.deserialize_cuda_engine(self.path.read_bytes())
        if self._engine is None:
            raise ModelError(f"{self.path} is not a TensorRT {self.trt.__version__} engine for this GPU "
                             "(corrupt, or built with another TensorRT version); rebuild it with: "
                             "poselive build CHECKPOINT --backend tensorrt")
        self._context = self._engine.create_execution_context()
        self.inputs: list[TensorInfo] = []
        self.outputs: list[TensorInfo] = []
        self._dtypes: dict[str, np.dtype] = {}
        for i in range(self._engine.num_io_tensors):
            name = self._engine.get_tensor_name(i)
            dtype = np.dtype(self.trt.nptype(self._engine.get_tensor_dtype(name)))
            self._dtypes[name] = dtype
            info = TensorInfo(name, _dims(self._engine.get_tensor_shape(name)), dtype.name)
            if self._engine.get_tensor_mode(name) == self.trt.TensorIOMode.INPUT:
                self.inputs.append(info)
            else:
                self.outputs.append(info)
        # Buffers are sized once for the profile's largest shapes; a call uses a prefix
        # view of them, so a changing number of people never reallocates.
        self._device: dict[str, Any] = {}
        self._host: dict[str, np.ndarray] = {}
        self._shapes: dict[str, tuple[int, ...]] = {}
        self._input_key: tuple | None = None
        self._allocate()

    def _check_environment(self) -> None:
        build = self.spec.get("build") or {}
        if not build.get("trt_version"):
            return
        here = environment(self.trt, self.memory)
        diffs = [f for f in ENVIRONMENT_FIELDS if build.get(f) and str(build.get(f)) != here[f]]
        if diffs:
            raise ModelError(
                f"{self.path} was built with TensorRT {build.get('trt_version')} for "
                f"{build.get('gpu')} (compute {build.get('compute_capability')}), but this machine has "
                f"TensorRT {here['trt_version']} and {here['gpu']} (compute {here['compute_capability']}); "
                "rebuild it here with: poselive build CHECKPOINT --backend tensorrt")

    def _tensor_shape(self, name: str) -> tuple[int, ...]:
        shape = tuple(int(d) for d in self._context.get_tensor_shape(name))
        if any(d < 0 for d in shape):
            raise ModelError(f"output '{name}' of {self.path} has a data-dependent shape {shape}; "
                             "export the model with NMS outside the graph (poselive's default)")
        return shape

    def _allocate(self) -> None:
        for t in self.inputs:
            largest = tuple(int(d) for d in self._engine.get_tensor_profile_shape(t.name, 0)[2])
            if not self._context.set_input_shape(t.name, largest):
                raise ModelError(f"{self.path}: cannot set input '{t.name}' to its profile maximum {largest}")
        for t in self.inputs + self.outputs:
            shape = self._tensor_shape(t.name)
            self._device[t.name] = self.memory.alloc(shape, self._dtypes[t.name])
            self._host[t.name] = self.memory.pinned(shape, self._dtypes[t.name])
            self._context.set_tensor_address(t.name, self.memory.ptr(self._device[t.name]))
        self._input_key = None

    def _prepare(self, feeds: dict[str, np.ndarray]) -> None:
        key = tuple((t.name, feeds[t.name].shape) for t in self.inputs)
        if key == self._input_key:
            return
        for t in self.inputs:
            shape = tuple(int(d) for d in feeds[t.name].shape)
            if not self._context.set_input_shape(t.name, shape):
                raise ModelError(f"input '{t.name}' of shape {shape} is outside the engine's "
                                 f"optimisation profile; rebuild with a larger --max-batch")
        self._shapes = {t.name: self._tensor_shape(t.name) for t in self.inputs + self.outputs}
        self._input_key = key

    def _views(self, name: str) -> tuple[Any, np.ndarray]:
        """Device and host views of the first elements of a tensor's buffers, in its current shape."""
        shape = self._shapes[name]
        return (self.memory.view(self._device[name], shape),
                self._host[name].reshape(-1)[:int(np.prod(shape))].reshape(shape))

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run one batch; returns outputs by name as numpy arrays."""
        missing = [t.name for t in self.inputs if t.name not in feeds]
        if missing:
            raise ModelError(f"missing engine inputs {missing}; the engine takes "
                             f"{[t.name for t in self.inputs]}")
        feeds = {t.name: np.asarray(feeds[t.name]) for t in self.inputs}
        self._prepare(feeds)
        for t in self.inputs:
            dev, host = self._views(t.name)
            np.copyto(host, feeds[t.name], casting="same_kind")
            self.memory.upload(dev, host)
        if not self._context.execute_async_v3(self.memory.stream_handle):
            raise ModelError(f"TensorRT execution of {self.path} failed; see the TensorRT log")
        results = {}
        for t in self.outputs:
            dev, host = self._views(t.name)
            self.memory.download(dev, host)
            results[t.name] = host
        self.memory.synchronize()
        # Copies: the pinned buffers are overwritten by the next call.
        return {k: v.copy() for k, v in results.items()}

    def close(self) -> None:
        """Release the context, the engine and the buffers."""
        self._device.clear()
        self._host.clear()
        self._input_key = None
        self._context = None
        self._engine = None
        self._runtime = None
