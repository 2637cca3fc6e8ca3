"""TEST DOUBLE for the ``tensorrt`` module (TensorRT 10 Python API) and for GPU memory.

Used only by tests, on machines without a GPU or TensorRT. ``FakeTensorRT`` mimics the
part of the API that ``engines.tensorrt`` uses and records every call in ``.calls`` so
tests can check how the builder was configured (profile shapes, flags, calibrator,
timing cache). It is *functional* where that makes tests meaningful:

- ``OnnxParser`` reads the real ONNX file (input/output names, shapes, dtypes);
- ``build_serialized_network`` checks the profile covers every dynamic input, drives an
  INT8 calibrator exactly as TensorRT does (read cache -> get_batch until None -> write
  cache), reading each batch from the address the calibrator returns, and returns a
  "plan" that embeds the ONNX model, the building version and the configuration;
- the execution context runs that ONNX model with ONNX Runtime on the CPU, reading
  inputs from and writing outputs to the addresses given by ``set_tensor_address``
  (outputs pass through float16 when the engine was built with the FP16 flag, a crude
  stand-in for reduced precision).

``HostMemory`` stands in for the CUDA memory helper with plain numpy buffers, so device
addresses are real host addresses that the fake reads with ctypes.
"""

from __future__ import annotations

import ctypes
import enum
import json
import types
from pathlib import Path
from typing import Any

import numpy as np

from poselive.interrupts import reraise_interrupt

_MAGIC = b"FAKETRT1"


class HostMemory:
    """Numpy stand-in for ``engines.tensorrt.TorchCudaMemory`` (no GPU needed)."""

    def __init__(self, gpu: str = "Fake GPU 9000", compute_capability: str = "9.0") -> None:
        self.gpu = gpu
        self.cc = compute_capability
        self.stream_handle = 0
        self.uploads = 0
        self.syncs = 0
        self.allocs = 0

    def alloc(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        self.allocs += 1
        return np.zeros(tuple(shape), dtype)

    def pinned(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        return np.zeros(tuple(shape), dtype)

    def view(self, buf: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        return buf.reshape(-1)[:int(np.prod(shape))].reshape(shape)

    def ptr(self, buf: np.ndarray) -> int:
        return int(buf.ctypes.data)

    def upload(self, buf: np.ndarray, host: np.ndarray) -> None:
        self.uploads += 1
        np.copyto(buf, host)

    def download(self, buf: np.ndarray, host: np.ndarray) -> None:
        np.copyto(host, buf)

    def synchronize(self) -> None:
        self.syncs += 1

    def device_name(self) -> str:
        return self.gpu

    def compute_capability(self) -> str:
        return self.cc


def view_at(address: int, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """A writable numpy view of memory at a raw address (what TensorRT would read)."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    raw = (ctypes.c_char * nbytes).from_address(int(address))
    return np.frombuffer(raw, dtype).reshape(shape)


class DataType(enum.Enum):
    FLOAT = "float32"
    HALF = "float16"
    INT8 = "int8"
    INT32 = "int32"
    INT64 = "int64"
    BOOL = "bool"
    UINT8 = "uint8"


class TensorIOMode(enum.Enum):
    NONE = 0
    INPUT = 1
    OUTPUT = 2


class BuilderFlag(enum.Enum):
    FP16 = "FP16"
    INT8 = "INT8"
    TF32 = "TF32"


class MemoryPoolType(enum.Enum):
    WORKSPACE = "WORKSPACE"


_ONNX_TO_DT = {1: DataType.FLOAT, 10: DataType.HALF, 3: DataType.INT8, 6: DataType.INT32,
               7: DataType.INT64, 9: DataType.BOOL, 2: DataType.UINT8}


class _Tensor:
    def __init__(self, name: str, shape: tuple[int, ...], dtype: DataType) -> None:
        self.name, self.shape, self.dtype = name, shape, dtype


class FakeTensorRT(types.ModuleType):
    """TEST DOUBLE of the ``tensorrt`` module; put it in ``sys.modules['tensorrt']`` or pass it."""

    def __init__(self, version: str = "10.3.0") -> None:
        super().__init__("tensorrt")
        self.__version__ = version
        self.calls: list[tuple] = []
        self.DataType, self.TensorIOMode = DataType, TensorIOMode
        self.BuilderFlag, self.MemoryPoolType = BuilderFlag, MemoryPoolType
        fake = self

        class Logger:
            WARNING, INFO, ERROR, VERBOSE = "WARNING", "INFO", "ERROR", "VERBOSE"

            def __init__(self, severity: str = "WARNING") -> None:
                self.severity = severity

        class IInt8EntropyCalibrator2:
            def __init__(self) -> None:
                fake.calls.append(("IInt8EntropyCalibrator2.__init__",))

        class Builder:
            def __init__(self, logger: Any) -> None:
                fake.calls.append(("Builder",))

            def create_network(self, flags: int = 0) -> _Network:
                fake.calls.append(("create_network", flags))
                return _Network()

            def create_builder_config(self) -> _Config:
                fake.calls.append(("create_builder_config",))
                return _Config(fake)

            def create_optimization_profile(self) -> _Profile:
                fake.calls.append(("create_optimization_profile",))
                return _Profile()

            def build_serialized_network(self, network: _Network, config: _Config) -> bytes | None:
                fake.calls.append(("build_serialized_network",))
                return fake._build(network, config)

        class OnnxParser:
            def __init__(self, network: _Network, logger: Any) -> None:
                self.network = network
                self.errors: list[str] = []

            @property
            def num_errors(self) -> int:
                return len(self.errors)

            def get_error(self, i: int) -> str:
                return self.errors[i]

            def parse_from_file(self, path: str) -> bool:
                fake.calls.append(("parse_from_file", path))
                try:
                    return self.parse(Path(path).read_bytes())
                except OSError as exc:
                    self.errors.append(str(exc))
                    return False

            def parse(self, data: bytes) -> bool:
                import onnx

                try:
                    model = onnx.load_from_string(data)
                    onnx.checker.check_model(model)
                except Exception as exc:  # noqa: BLE001 - the parser reports, never raises
                    reraise_interrupt(exc)
                    self.errors.append(f"ONNX parse error: {exc}")
                    return False
                init = {i.name for i in model.graph.initializer}

                def info(v: Any) -> _Tensor:
                    t = v.type.tensor_type
                    dims = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in t.shape.dim)
                    return _Tensor(v.name, dims, _ONNX_TO_DT.get(t.elem_type, DataType.FLOAT))

                self.network.inputs = [info(v) for v in model.graph.input if v.name not in init]
                self.network.outputs = [info(v) for v in model.graph.output]
                self.network.onnx = data
                return True

        class Runtime:
            def __init__(self, logger: Any) -> None:
                fake.calls.append(("Runtime",))

            def deserialize_cuda_engine(self, data: bytes) -> _Engine | None:
                fake.calls.append(("deserialize_cuda_engine", len(data)))
                return fake._deserialize(bytes(data))

        self.Logger, self.IInt8EntropyCalibrator2 = Logger, IInt8EntropyCalibrator2
        self.Builder, self.OnnxParser, self.Runtime = Builder, OnnxParser, Runtime
        self.last_config: _Config | None = None
        self.calibration_batches: list[np.ndarray] = []

    @staticmethod
    def nptype(dt: DataType) -> type:
        """TensorRT's dtype -> numpy type."""
        return np.dtype(dt.value).type

    # -- building -------------------------------------------------------------------
    def _build(self, network: _Network, config: _Config) -> bytes | None:
        self.last_config = config
        if not config.profiles:
            return None  # TensorRT refuses dynamic inputs without a profile
        prof = config.profiles[0]
        for t in network.inputs:
            if t.name not in prof.shapes:
                return None
            for s in prof.shapes[t.name]:
                if len(s) != len(t.shape) or any(d >= 0 and d != v for d, v in zip(t.shape, s)):
                    return None
        if BuilderFlag.INT8 in config.flags:
            self._calibrate(network, config)
        if config.timing_cache is not None:
            config.timing_cache.entries += 1
        header = {"version": self.__version__,
                  "flags": sorted(f.value for f in config.flags),
                  "profile": {k: [list(s) for s in v] for k, v in prof.shapes.items()},
                  "inputs": [[t.name, list(t.shape), t.dtype.name] for t in network.inputs],
                  "outputs": [[t.name, list(t.shape), t.dtype.name] for t in network.outputs]}
        head = json.dumps(header).encode()
        return _MAGIC + len(head).to_bytes(4, "little") + head + network.onnx

    def _calibrate(self, network: _Network, config: _Config) -> None:
        cal = config.int8_calibrator
        if cal is None:
            raise RuntimeError("fake TensorRT: INT8 flag without a calibrator")
        if cal.read_calibration_cache():
            self.calls.append(("calibration_cache_hit",))
            return
        bs = cal.get_batch_size()
        prof = config.calibration_profile or config.profiles[0]
        names = [t.name for t in network.inputs]
        while True:
            ptrs = cal.get_batch(names)
            if not ptrs:
                break
            for t, p in zip(network.inputs, ptrs):
                shape = tuple(prof.shapes[t.name][1])
                if shape[0] != bs:
                    raise RuntimeError(f"fake TensorRT: calibration profile batch {shape[0]} != {bs}")
                self.calibration_batches.append(view_at(p, shape, self.nptype(t.dtype)).copy())
        cal.write_calibration_cache(f"FAKE-CALIB {len(self.calibration_batches)}".encode())

    def _deserialize(self, data: bytes) -> _Engine | None:
        if not data.startswith(_MAGIC):
            return None
        n = int.from_bytes(data[8:12], "little")
        try:
            header = json.loads(data[12:12 + n])
        except ValueError:
            return None
        if header.get("version") != self.__version__:
            return None  # real TensorRT refuses plans from another version
        return _Engine(self, header, data[12 + n:])


class _Network:
    def __init__(self) -> None:
        self.inputs: list[_Tensor] = []
        self.outputs: list[_Tensor] = []
        self.onnx = b""

    @property
    def num_inputs(self) -> int:
        return len(self.inputs)

    @property
    def num_outputs(self) -> int:
        return len(self.outputs)

    def get_input(self, i: int) -> _Tensor:
        return self.inputs[i]

    def get_output(self, i: int) -> _Tensor:
        return self.outputs[i]


class _Profile:
    def __init__(self) -> None:
        self.shapes: dict[str, tuple[tuple[int, ...], ...]] = {}

    def set_shape(self, name: str, mn: Any, opt: Any, mx: Any) -> None:
        mn, opt, mx = tuple(mn), tuple(opt), tuple(mx)
        if not all(a <= b <= c for a, b, c in zip(mn, opt, mx)):
            raise ValueError(f"profile for {name}: min {mn} <= opt {opt} <= max {mx} violated")
        self.shapes[name] = (mn, opt, mx)

    def get_shape(self, name: str) -> tuple[tuple[int, ...], ...]:
        return self.shapes[name]


class _TimingCache:
    def __init__(self, blob: bytes) -> None:
        self.loaded_from = bytes(blob)
        self.entries = int(blob.split(b":")[1]) if blob.startswith(b"FAKE-TIMING:") else 0

    def serialize(self) -> bytes:
        return f"FAKE-TIMING:{self.entries}".encode()


class _Config:
    def __init__(self, fake: FakeTensorRT) -> None:
        self.fake = fake
        self.flags: set[BuilderFlag] = set()
        self.memory_pools: dict[MemoryPoolType, int] = {}
        self.profiles: list[_Profile] = []
        self.calibration_profile: _Profile | None = None
        self.int8_calibrator: Any = None
        self.timing_cache: _TimingCache | None = None
        self.ignore_timing_mismatch: bool | None = None

    def set_flag(self, flag: BuilderFlag) -> None:
        self.fake.calls.append(("set_flag", flag.value))
        self.flags.add(flag)

    def set_memory_pool_limit(self, pool: MemoryPoolType, size: int) -> None:
        self.fake.calls.append(("set_memory_pool_limit", pool.value, size))
        self.memory_pools[pool] = size

    def add_optimization_profile(self, profile: _Profile) -> int:
        self.fake.calls.append(("add_optimization_profile",))
        self.profiles.append(profile)
        return len(self.profiles) - 1

    def set_calibration_profile(self, profile: _Profile) -> bool:
        self.fake.calls.append(("set_calibration_profile",))
        self.calibration_profile = profile
        return True

    def create_timing_cache(self, blob: bytes) -> _TimingCache:
        self.fake.calls.append(("create_timing_cache", len(blob)))
        return _TimingCache(blob)

    def set_timing_cache(self, cache: _TimingCache, ignore_mismatch: bool) -> bool:
        self.fake.calls.append(("set_timing_cache", ignore_mismatch))
        self.timing_cache, self.ignore_timing_mismatch = cache, ignore_mismatch
        return True

    def get_timing_cache(self) -> _TimingCache | None:
        return self.timing_cache


class _Engine:
    def __init__(self, fake: FakeTensorRT, header: dict, onnx_bytes: bytes) -> None:
        self.fake, self.header, self.onnx = fake, header, onnx_bytes
        self._io = [(n, tuple(s), DataType[d], TensorIOMode.INPUT) for n, s, d in header["inputs"]]
        self._io += [(n, tuple(s), DataType[d], TensorIOMode.OUTPUT) for n, s, d in header["outputs"]]

    @property
    def num_io_tensors(self) -> int:
        return len(self._io)

    def get_tensor_name(self, i: int) -> str:
        return self._io[i][0]

    def _find(self, name: str) -> tuple:
        return next(t for t in self._io if t[0] == name)

    def get_tensor_mode(self, name: str) -> TensorIOMode:
        return self._find(name)[3]

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        return self._find(name)[1]

    def get_tensor_dtype(self, name: str) -> DataType:
        return self._find(name)[2]

    def get_tensor_profile_shape(self, name: str, profile: int) -> list[tuple[int, ...]]:
        return [tuple(s) for s in self.header["profile"][name]]

    def create_execution_context(self) -> _Context:
        self.fake.calls.append(("create_execution_context",))
        return _Context(self)


class _Context:
    def __init__(self, engine: _Engine) -> None:
        import onnxruntime as ort

        self.engine = engine
        self.session = ort.InferenceSession(engine.onnx, providers=["CPUExecutionProvider"])
        self.input_shapes: dict[str, tuple[int, ...]] = {}
        self.addresses: dict[str, int] = {}
        self._out_shapes: dict[str, tuple[int, ...]] | None = None

    def set_input_shape(self, name: str, shape: Any) -> bool:
        self.engine.fake.calls.append(("set_input_shape", name, tuple(shape)))
        mn, _, mx = self.engine.header["profile"][name]
        shape = tuple(int(d) for d in shape)
        if len(shape) != len(mn) or not all(a <= s <= b for a, s, b in zip(mn, shape, mx)):
            return False
        self.input_shapes[name] = shape
        self._out_shapes = None
        return True

    def _zeros_run(self) -> dict[str, np.ndarray]:
        feeds = {n: np.zeros(s, self.engine.fake.nptype(self.engine.get_tensor_dtype(n)))
                 for n, s in self.input_shapes.items()}
        names = [o.name for o in self.session.get_outputs()]
        return dict(zip(names, self.session.run(names, feeds)))

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        if name in self.input_shapes:
            return self.input_shapes[name]
        if self._out_shapes is None:  # shape inference by running once, as a stand-in
            self._out_shapes = {k: v.shape for k, v in self._zeros_run().items()}
        return self._out_shapes[name]

    def set_tensor_address(self, name: str, address: int) -> bool:
        self.addresses[name] = int(address)
        return True

    def execute_async_v3(self, stream_handle: int) -> bool:
        self.engine.fake.calls.append(("execute_async_v3", stream_handle))
        e = self.engine
        feeds = {}
        for n, shape in self.input_shapes.items():
            feeds[n] = view_at(self.addresses[n], shape, e.fake.nptype(e.get_tensor_dtype(n))).copy()
        names = [o.name for o in self.session.get_outputs()]
        half = "FP16" in e.header["flags"]
        for n, value in zip(names, self.session.run(names, feeds)):
            if half and value.dtype == np.float32:
                value = value.astype(np.float16).astype(np.float32)  # reduced-precision stand-in
            out = view_at(self.addresses[n], value.shape, e.fake.nptype(e.get_tensor_dtype(n)))
            out[...] = value
        return True
