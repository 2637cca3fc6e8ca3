"""`poselive model-info` and `poselive bench`, run as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "poselive", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO)


def test_model_info_preset():
    r = run_cli("model-info", "poselive-pose-t", "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert abs(info["params"] / 3.34e6 - 1) < 0.05
    text = run_cli("model-info", "poselive-pose-s").stdout
    assert "FLOPs" in text and "simcc_x" in text


def test_model_info_unknown_is_a_clear_error(tmp_path):
    r = run_cli("model-info", str(tmp_path / "missing.pt"))
    assert r.returncode == 1 and "missing.pt" in r.stderr and "Traceback" not in r.stderr


def test_bench_pipeline_and_model_only(teachers, tmp_path):
    out = tmp_path / "b.json"
    det, pose = str(teachers / "rtmdet-nano-person.onnx"), str(teachers / "movenet-lightning.onnx")
    r = run_cli("bench", "--det", det, "--pose", pose, "--max-frames", "8", "--json", str(out))
    assert r.returncode == 0, r.stderr
    res = json.loads(out.read_text())
    assert res["pipeline"]["frames_out"] == 8
    assert {"detector", "pose"} <= set(res["pipeline"]["stages"])
    r = run_cli("bench", "--model-only", "--model", det, "--batch", "1", "--iters", "3",
                "--json", str(out))
    assert r.returncode == 0, r.stderr
    rows = json.loads(out.read_text())["model_only"]
    assert rows[0]["backend"] == "onnxruntime" and rows[0]["batch"] == 1 and rows[0]["p50_ms"] > 0


def test_bench_table_and_json_on_a_real_clip(tmp_path):
    """`poselive bench sample`: the real graph with render and H.264 encode, a readable
    report (models, backend, threads, machine, throughput, latency, drops, persons, CPU,
    RSS, one row per stage with p50/p95/p99), and the same fields in the JSON."""
    out = tmp_path / "b.json"
    r = run_cli("bench", "sample", "--frames", "6", "--warmup", "2", "--json", str(out))
    assert r.returncode == 0, r.stderr
    text = r.stdout
    for word in ("poselive-det-nano.onnx", "poselive-pose-lightning.onnx", "onnxruntime", "CPU threads", "machine",
                 "fps", "end-to-end", "drops", "per frame", "peak RSS", "p99 ms", "sinks", "render"):
        assert word in text, word
    res = json.loads(out.read_text())
    (cfg,) = res["configs"]
    assert cfg["frames"] == 6 and cfg["render"] and cfg["persons_per_frame"] > 0
    assert cfg["cpu_percent"] > 0 and cfg["peak_rss_mb"] > 50 and cfg["fps"] > 0
    st = cfg["stages"]["pose"]
    assert st["p50_ms"] <= st["p95_ms"] <= st["p99_ms"] and 0 < st["utilisation"] <= 1
    assert set(cfg["stages"]) >= {"detector", "pose", "tracker", "render", "sinks"}
    # the stage row in the table is the JSON's p50
    row = next(line for line in text.splitlines() if line.startswith("pose "))
    assert f"{st['p50_ms']:.1f}" in row


def test_bench_compare_runs_configurations_side_by_side(tmp_path):
    out = tmp_path / "c.json"
    r = run_cli("bench", "sample", "--frames", "6", "--warmup", "0", "--rounds", "2", "--no-render",
                "--compare", "--det-interval 1", "--det-interval 3", "--json", str(out))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    head = next(line for line in lines if "--det-interval 1" in line)
    assert head.index("--det-interval 1") < head.index("--det-interval 3")
    assert any(line.startswith("vs first") and "1.00x" in line for line in lines)
    assert r.stderr.count("round ") == 4  # 2 rounds x 2 configurations, interleaved
    res = json.loads(out.read_text())
    assert [c["label"] for c in res["configs"]] == ["--det-interval 1", "--det-interval 3"]
    assert [c["det_interval"] for c in res["configs"]] == [1, 3]
    assert res["ratios"]["--det-interval 1"] == 1.0 and res["ratios"]["--det-interval 3"] > 0
    assert all(len(c["fps_runs"]) == 2 and not c["render"] for c in res["configs"])
    assert "render" not in res["configs"][0]["stages"]


def test_bench_compare_with_a_bad_flag_is_one_clear_line():
    r = run_cli("bench", "sample", "--frames", "2", "--compare", "--det-interval 1", "--no-such-flag 3")
    assert r.returncode != 0 and "--no-such-flag" in r.stderr and "Traceback" not in r.stderr


def test_eval_command_on_a_teacher(shared, teachers, tmp_path):
    """`poselive eval` reproduces MoveNet Lightning's COCO AP on coco-mini/val2017 (≈0.362)."""
    data = shared / "data" / "coco-mini"
    out = tmp_path / "ev.json"
    r = run_cli("eval", str(teachers / "movenet-lightning.onnx"), "--ann",
                str(data / "annotations" / "person_keypoints_val2017.json"),
                "--images", str(data / "val2017"), "--json", str(out))
    assert r.returncode == 0, r.stderr
    res = json.loads(out.read_text())
    assert abs(res["AP"] - 0.362) < 0.01 and {"AP50", "AP75", "AR"} <= set(res)


def test_eval_command_detector_and_whole_pipeline(shared, teachers, tmp_path):
    """A detector file is scored by box AP (RTMDet-nano: 0.3256 on val2017); with --det a
    pose model is scored on that detector's boxes instead of ground-truth boxes."""
    data = shared / "data" / "coco-mini"
    det = str(teachers / "rtmdet-nano-person.onnx")
    out = tmp_path / "det.json"
    r = run_cli("eval", det, "--ann", str(data / "annotations" / "instances_val2017.json"),
                "--images", str(data / "val2017"), "--json", str(out))
    assert r.returncode == 0, r.stderr
    assert json.loads(out.read_text())["AP"] == __import__("pytest").approx(0.3256, abs=0.005)
    out2 = tmp_path / "pipe.json"
    r = run_cli("eval", str(teachers / "movenet-lightning.onnx"), "--det", det,
                "--ann", str(data / "annotations" / "person_keypoints_val2017.json"),
                "--images", str(data / "val2017"), "--json", str(out2))
    assert r.returncode == 0, r.stderr
    res = json.loads(out2.read_text())
    assert res["boxes"] == "detections" and res["det_threshold"] == 0.3
    # detector boxes cost Lightning a little against ground-truth boxes (0.362)
    assert res["AP"] == __import__("pytest").approx(0.3243, abs=0.01)


def test_build_command_onnxruntime(tmp_path):
    torch = __import__("pytest").importorskip("torch")
    from poselive.models import build_model, preset_spec, save_checkpoint

    torch.manual_seed(0)
    spec = preset_spec("poselive-pose-t")
    ckpt = save_checkpoint(tmp_path / "p.pt", build_model(spec), spec)
    r = run_cli("build", str(ckpt), "--backend", "onnxruntime", "--out-dir", str(tmp_path / "eng"))
    assert r.returncode == 0, r.stderr
    built = list((tmp_path / "eng").glob("*.onnx"))
    assert len(built) == 1 and built[0].with_suffix(".onnx.spec.json").is_file()
    r = run_cli("build", str(ckpt), "--backend", "tensorrt", "--out-dir", str(tmp_path / "eng"))
    if r.returncode != 0:  # the usual case here: no TensorRT, the message names the extra
        assert "poselive[tensorrt]" in r.stderr and "Traceback" not in r.stderr


def test_bench_model_only_precision_and_cuda_graphs_matrix(tmp_path, capsys):
    """`--precision fp32 fp16 --cuda-graphs off on` times every combination the machine can
    run and gives a skipped row with the reason for each one it cannot (here: CUDA graphs
    on the CPU), so the GPU matrix of docs/benchmarks.md is one command."""
    import torch

    from poselive.apps.cli import main

    pose = str(REPO / "assets" / "poselive-pose-lightning.pt")
    out = tmp_path / "m.json"
    device = "cuda" if torch.cuda.is_available() else "cpu"
    rc = main(["bench", "--model-only", "--model", pose, "--backend", "torch", "--device", device,
               "--precision", "fp32", "fp16", "--cuda-graphs", "off", "on", "--batch", "1", "2",
               "--iters", "2", "--markdown", "--json", str(out)])
    assert rc == 0
    rows = json.loads(out.read_text())["model_only"]
    assert len(rows) == 2 * 2 * 2
    assert {(r["precision"], r["cuda_graphs"], r["batch"]) for r in rows} == {
        (p, g, b) for p in ("fp32", "fp16") for g in (False, True) for b in (1, 2)}
    ran = [r for r in rows if not r.get("skipped")]
    assert all(r["p50_ms"] > 0 and r["device"] == device for r in ran)
    assert any(r["precision"] == "fp32" and not r["cuda_graphs"] for r in ran)
    if device == "cpu":
        graphs = [r for r in rows if r["cuda_graphs"]]
        assert graphs and all("--device cuda" in r["skipped"] for r in graphs)
    table = capsys.readouterr().out
    assert table.count("| poselive-pose-lightning.pt | torch |") == 8


def test_bench_model_only_on_a_missing_gpu_is_a_clear_error(capsys):
    import torch

    if torch.cuda.is_available():
        import pytest

        pytest.skip("this machine has a CUDA GPU")
    from poselive.apps.cli import main

    rc = main(["bench", "--model-only", "--model", str(REPO / "assets" / "poselive-pose-lightning.pt"),
               "--backend", "torch", "--device", "cuda", "--batch", "1", "--iters", "1"])
    captured = capsys.readouterr()
    assert rc == 1 and "no CUDA" in captured.out and "no benchmark row could run" in captured.err


def test_bench_latency_drift_compares_the_first_and_last_minute():
    from poselive.apps.bench import _Counter

    c = _Counter()
    assert c.drift() is None  # nothing measured
    # 3 minutes at 10 fps: 50 ms latency at first, 60 ms over the last minute.
    c.samples = [(i / 10, 50.0 if i < 1200 else 60.0) for i in range(1800)]
    d = c.drift()
    assert d["first_p95_ms"] == 50.0 and d["last_p95_ms"] == 60.0
    assert abs(d["p95_change"] - 0.2) < 1e-9
    c.samples = c.samples[:1000]  # under two minutes: no drift figure
    assert c.drift() is None
