"""Every fault of docs/reliability.md, tried through the real CLI on one or more checkouts.

Usage (from the repo root):

    git archive <old-commit> | tar -x -C /tmp/before        # a checkout to compare with
    python benchmarks/fault_table.py --repo before=/tmp/before --repo now=. --json faults.json

For each checkout, runs ``python -m poselive process ...`` (with that checkout first on
PYTHONPATH and its shipped models) against damaged and unusual inputs made here, kills,
interrupts, a full disk (a 128 KiB tmpfs in a user namespace, where ``unshare -rm`` works)
and bad output paths, and prints a Markdown table: one row per fault, one column per
checkout, saying what poselive did (exit status, message, frames in each output).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))
from poselive import assets  # noqa: E402

SAMPLE = assets.sample_path()
SHARED = Path(os.environ.get("POSELIVE_SHARED", HERE.parent / "shared"))


# -- media ------------------------------------------------------------------------------
def clip(path: Path, n: int = 60, size=(160, 120), fps: int = 25, faststart: bool = True, rotation: int = 0,
         times=None, noise: bool = False, frames=None) -> Path:
    """An H.264 test clip (a bright corner top-left, so orientation can be checked)."""
    if frames is None:
        rng = np.random.default_rng(0)
        frames = []
        for i in range(n):
            img = np.full((size[1], size[0], 3), 60, np.uint8)
            s = max(1, min(size) // 4)
            img[:s, :s] = 255
            img[size[1] // 2:, (3 * i) % max(1, size[0] - 4):][:, :4] = (0, 160, 255)
            if noise:
                img = np.clip(img.astype(np.int16) + rng.integers(-20, 20, img.shape), 0, 255).astype(np.uint8)
            frames.append(img)
    times = times if times is not None else [i / fps for i in range(len(frames))]
    tb = Fraction(1, fps * 512)
    opts = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", options=opts) as out:
        v = out.add_stream("libx264", rate=fps)
        v.height, v.width = frames[0].shape[:2]
        v.pix_fmt, v.time_base = "yuv420p", tb
        v.codec_context.time_base = tb
        v.codec_context.gop_size = 10
        if rotation:
            v.set_display_rotation(rotation)
        for img, t in zip(frames, times):
            f = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="bgr24")
            f.pts, f.time_base = int(round(t / tb)), tb
            for p in v.encode(f):
                out.mux(p)
        for p in v.encode():
            out.mux(p)
    return path


def decodable(path: Path) -> tuple[int, bool]:
    """(frames decoded before the first error, decoded to the end without error)."""
    n = 0
    try:
        with av.open(str(path)) as c:
            for _ in c.decode(c.streams.video[0]):
                n += 1
        return n, True
    except (av.FFmpegError, OSError, IndexError, ValueError):
        return n, False


def jsonl_lines(path: Path) -> tuple[int, bool]:
    """(frame lines, file ends with a complete line)."""
    if not path.exists():
        return 0, True
    text = path.read_text(errors="replace")
    lines = text.split("\n")
    return max(0, len([ln for ln in lines if ln.strip()]) - 1), text.endswith("\n")


def digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


# -- running a checkout ----------------------------------------------------------------
class Checkout:
    def __init__(self, label: str, root: Path) -> None:
        self.label, self.root = label, root.resolve()
        self.env = {**os.environ, "PYTHONPATH": str(self.root), "POSELIVE_SHARED": str(SHARED)}

    def argv(self, *args: str, quiet: bool = True) -> list[str]:
        return [sys.executable, "-m", "poselive", "process", *args] + (["--quiet"] if quiet else [])

    def run(self, *args: str, timeout: float = 300, quiet: bool = True) -> tuple[int, str, float]:
        t0 = time.perf_counter()
        r = subprocess.run(self.argv(*args, quiet=quiet), capture_output=True, text=True, env=self.env,
                           cwd=self.root, timeout=timeout)
        return r.returncode, r.stderr, time.perf_counter() - t0

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(self.argv(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=self.env, cwd=self.root)


def said(stderr: str) -> str:
    """The line poselive ended with (its error, or its last line), shortened."""
    if "Traceback" in stderr:
        last = [ln for ln in stderr.splitlines() if ln.strip()][-1]
        return f"traceback ({last[:60]})"
    err = [ln for ln in stderr.splitlines() if ln.startswith("poselive:")]
    line = err[-1] if err else ([ln for ln in stderr.splitlines() if ln.strip()] or [""])[-1]
    line = re.sub(r"\S*/faults-\w+/", "", line)  # the temporary folder: just the file names
    return f"`{line[:100]}`"


def outputs(d: Path, stem: str = "o") -> dict:
    """Frames in the MP4 and JSONL under their names, or under .partial names."""
    res = {}
    for ext in ("mp4", "jsonl"):
        final, part = d / f"{stem}.{ext}", d / f"{stem}.partial.{ext}"
        path = final if final.exists() else part if part.exists() else None
        if path is None:
            res[ext] = None
            continue
        if ext == "mp4":
            n, clean = decodable(path)
            res[ext] = {"frames": n, "clean": clean, "partial": path is part}
        else:
            n, whole = jsonl_lines(path)
            res[ext] = {"frames": n, "whole_lines": whole, "partial": path is part}
    return res


def fmt_out(o: dict) -> str:
    bits = []
    for ext in ("mp4", "jsonl"):
        v = o.get(ext)
        if v is None:
            bits.append(f"no {ext.upper()}")
            continue
        extra = ""
        if ext == "mp4" and not v["clean"]:
            extra = " (then undecodable)" if v["frames"] else " (unplayable)"
        if ext == "jsonl" and not v["whole_lines"]:
            extra = " + a cut line"
        name = ".partial" if v["partial"] else ""
        bits.append(f"{ext.upper()}{name} {v['frames']}{extra}")
    return ", ".join(bits)


# -- the faults ---------------------------------------------------------------------------
def f_same_path(co: Checkout, d: Path, src: Path) -> str:
    rc, err, _ = co.run(str(src), "--out", str(d / "x.mp4"), "--json", str(d / "x.mp4"))
    kind = "absent"
    if (d / "x.mp4").exists():
        head = (d / "x.mp4").read_bytes()[:16]
        kind = "MP4" if b"ftyp" in head else "JSONL text" if head.startswith(b"{") else "neither"
        if kind == "MP4":
            kind += f" with {decodable(d / 'x.mp4')[0]} frames"
    return f"exit {rc}; x.mp4: {kind}; {said(err)}"


def _hurts_source(co: Checkout, d: Path, src: Path, flag: str, target: Path) -> str:
    before = digest(src)
    size = src.stat().st_size
    rc, err, _ = co.run(str(src), flag, str(target), "--max-frames", "20")
    after = "intact" if src.exists() and digest(src) == before else \
        f"DESTROYED ({size} -> {src.stat().st_size if src.exists() else 0} bytes)"
    return f"exit {rc}; source {after}; {said(err)}"


def f_json_is_source(co, d, src):
    return _hurts_source(co, d, src, "--json", src)


def f_out_is_source(co, d, src):
    return _hurts_source(co, d, src, "--out", src)


def f_out_symlink(co, d, src):
    (d / "link.mp4").symlink_to(src)
    return _hurts_source(co, d, src, "--out", d / "link.mp4")


def f_csv_hardlink(co, d, src):
    os.link(src, d / "hard.csv")
    return _hurts_source(co, d, src, "--csv", d / "hard.csv")


def f_unwritable(co, d, src):
    (d / "afile").write_text("x")
    rc, err, secs = co.run(str(src), "--out", str(d / "afile" / "o.mp4"), "--json", str(d / "o.jsonl"))
    n, _ = jsonl_lines(d / "o.jsonl") if (d / "o.jsonl").exists() else jsonl_lines(d / "o.partial.jsonl")
    return f"exit {rc} after {secs:.1f} s, {n} frames processed first; {said(err)}"


def _signal_sweep(co, d, src, sig, delays) -> str:
    codes, tracebacks, unequal = [], 0, 0
    for k, delay in enumerate(delays):
        dd = d / f"s{k}"
        dd.mkdir()
        p = co.popen(str(src), "--out", str(dd / "o.mp4"), "--json", str(dd / "o.jsonl"))
        _wait_handlers(p.pid)
        time.sleep(delay)
        p.send_signal(sig)
        _, err = p.communicate(timeout=120)
        codes.append(p.returncode)
        tracebacks += "Traceback" in err
        o = outputs(dd)
        if o["mp4"] and o["jsonl"] and o["mp4"]["frames"] != o["jsonl"]["frames"]:
            unequal += 1
    want = 128 + sig
    return (f"{codes.count(want)}/{len(delays)} exit {want} (others: {sorted(set(codes) - {want}) or 'none'}); "
            f"{tracebacks} tracebacks; {unequal} runs with MP4 ≠ JSONL")


def _wait_handlers(pid: int) -> None:
    """Until the process catches SIGTERM (poselive's code has started) or 3 s have passed;
    on a checkout without early handlers, until 0.4 s (its imports are under way)."""
    t0 = time.time()
    while time.time() - t0 < 3:
        try:
            with open(f"/proc/{pid}/status") as f:
                caught = next(int(ln.split()[1], 16) for ln in f if ln.startswith("SigCgt:"))
            if caught & (1 << (signal.SIGTERM - 1)):
                return
            if time.time() - t0 > 0.4 and caught & (1 << (signal.SIGINT - 1)):
                return
        except (OSError, StopIteration):
            return
        time.sleep(0.005)


def f_sigint_early(co, d, src):
    return _signal_sweep(co, d, src, signal.SIGINT, [0.0, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1.0, 1.3, 1.6])


def f_sigterm_early(co, d, src):
    return _signal_sweep(co, d, src, signal.SIGTERM, [0.0, 0.3, 0.7, 1.2])


def _wait_lines(path_a: Path, path_b: Path, n: int, timeout: float = 120) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        for p in (path_a, path_b):
            if p.exists() and p.read_text(errors="replace").count("\n") > n:
                return
        time.sleep(0.05)


def f_double_ctrl_c(co, d, src):
    p = co.popen(str(src), "--out", str(d / "o.mp4"), "--json", str(d / "o.jsonl"))
    _wait_lines(d / "o.jsonl", d / "o.partial.jsonl", 20)
    p.send_signal(signal.SIGINT)
    time.sleep(0.03)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    return f"exit {p.returncode}; {fmt_out(outputs(d))}"


def f_sigkill(co, d, src):
    p = co.popen(str(src), "--out", str(d / "o.mp4"), "--json", str(d / "o.jsonl"))
    _wait_lines(d / "o.jsonl", d / "o.partial.jsonl", 40)
    p.kill()
    p.communicate(timeout=60)
    return fmt_out(outputs(d))


def f_full_disk(co, d, src):
    if shutil.which("unshare") is None:
        return "not tried (no unshare)"
    disk = d / "disk"
    disk.mkdir()
    big = clip(d / "big.mp4", n=150, noise=True)
    report = d / "report.json"
    check = (f"import json, sys; sys.path.insert(0, {str(HERE / 'benchmarks')!r}); import fault_table as t; "
             f"from pathlib import Path; json.dump(t.outputs(Path({str(disk)!r})), open({str(report)!r}, 'w'))")
    script = (f"mount -t tmpfs -o size=128k tmpfs {disk} || exit 99; "
              f"{' '.join(co.argv(str(big), '--out', str(disk / 'o.mp4'), '--json', str(disk / 'o.jsonl')))}; "
              f"echo exit=$? >&2; {sys.executable} -c \"{check}\"")
    r = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, env=co.env,
                       cwd=co.root, timeout=300)
    if "exit=" not in r.stderr:
        return "not tried (cannot mount a tmpfs here)"
    rc = r.stderr.split("exit=")[1].split()[0]
    o = json.loads(report.read_text()) if report.exists() else {}
    return f"exit {rc}; {fmt_out(o)}; {said(r.stderr.split('exit=')[0])}"


def _cut_run(co, d, cut: Path) -> str:
    n, _ = decodable(cut)
    rc, err, _ = co.run(str(cut), "--out", str(d / "o.mp4"), "--json", str(d / "o.jsonl"))
    return f"{n} decodable; exit {rc}; {fmt_out(outputs(d))}; {said(err)}"


def f_cut_mp4(co, d, src):
    c = clip(d / "c.mp4", n=120, noise=True)
    cut = d / "cut.mp4"
    cut.write_bytes(c.read_bytes()[: c.stat().st_size // 2])
    return _cut_run(co, d, cut)


def f_cut_mp4_moov_end(co, d, src):
    c = clip(d / "c.mp4", n=120, noise=True, faststart=False)
    cut = d / "cut.mp4"
    cut.write_bytes(c.read_bytes()[: c.stat().st_size // 2])
    return _cut_run(co, d, cut)


def f_cut_avi(co, d, src):
    vtest = SHARED / "data" / "videos" / "vtest.avi"
    if not vtest.exists():
        return "not tried (shared/data/videos/vtest.avi absent)"
    cut = d / "vtest_cut.avi"
    cut.write_bytes(vtest.read_bytes()[: vtest.stat().st_size // 2])
    return _cut_run(co, d, cut)


def _bad_file(co, d, path: Path) -> str:
    rc, err, _ = co.run(str(path), "--json", str(d / "o.jsonl"))
    return f"exit {rc}; {said(err)}"


def f_zero_length(co, d, src):
    (d / "empty.mp4").write_bytes(b"")
    return _bad_file(co, d, d / "empty.mp4")


def f_random_bytes(co, d, src):
    (d / "noise.mp4").write_bytes(np.random.default_rng(0).integers(0, 256, 50000, dtype=np.uint8).tobytes())
    return _bad_file(co, d, d / "noise.mp4")


def f_audio_only(co, d, src):
    sr = 16000
    path = d / "audio.m4a"
    with av.open(str(path), "w", format="mp4") as out:
        a = out.add_stream("aac", rate=sr)
        a.layout = "mono"
        for start in range(0, sr, 1024):
            tone = (0.3 * np.sin(np.arange(start, start + 1024) / 4)).astype(np.float32)
            af = av.AudioFrame.from_ndarray(tone[None], format="fltp", layout="mono")
            af.sample_rate, af.pts, af.time_base = sr, start, Fraction(1, sr)
            for p in a.encode(af):
                out.mux(p)
        for p in a.encode():
            out.mux(p)
    return _bad_file(co, d, path)


def f_corrupt_image(co, d, src):
    folder = d / "imgs"
    folder.mkdir()
    for i in range(6):
        if i == 3:
            (folder / f"f{i}.jpg").write_bytes(b"\xff\xd8\xff\xe0 broken")
        else:
            cv2.imwrite(str(folder / f"f{i}.jpg"), np.full((48, 64, 3), 40 * i, np.uint8))
    rc, err, _ = co.run(str(folder), "--json", str(d / "o.jsonl"), quiet=False)
    n = jsonl_lines(d / "o.jsonl")[0] or jsonl_lines(d / "o.partial.jsonl")[0]
    skipped = [ln for ln in err.splitlines() if "skipped" in ln]
    return f"exit {rc}; {n} of 5 good images written; {said(err) if rc else f'`{skipped[0]}`' if skipped else ''}"


def f_rotated(co, d, src):
    frames = []
    with av.open(str(SAMPLE)) as c:
        for f in c.decode(video=0):
            frames.append(cv2.rotate(f.to_ndarray(format="bgr24"), cv2.ROTATE_90_CLOCKWISE))
            if len(frames) == 5:
                break
    phone = clip(d / "phone.mp4", frames=frames, fps=10, rotation=90)
    rc, err, _ = co.run(str(phone), "--out", str(d / "o.mp4"), "--json", str(d / "o.jsonl"))
    if rc != 0:
        return f"exit {rc}; {said(err)}"
    with av.open(str(d / "o.mp4")) as c:
        v = c.streams.video[0]
        size = (v.width, v.height)
    header = json.loads((d / "o.jsonl").read_text().splitlines()[0])
    upright = "upright" if size == (768, 576) else "sideways"
    return f"exit 0; output {size[0]}x{size[1]} ({upright}); JSONL frame_size {header['frame_size']}"


def f_tiny(co, d, src):
    path = d / "tiny.avi"
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (1, 1))
    for i in range(5):
        vw.write(np.full((1, 1, 3), 40 * i, np.uint8))
    vw.release()
    rc, err, _ = co.run(str(path), "--out", str(d / "o.mp4"), "--json", str(d / "o.jsonl"))
    return f"exit {rc}; {fmt_out(outputs(d))}; {said(err) if rc else ''}".rstrip("; ")


def f_4k(co, d, src):
    path = clip(d / "uhd.mp4", n=2, size=(3840, 2160))
    rc, err, _ = co.run(str(path), "--out", str(d / "o.mp4"), "--json", str(d / "o.jsonl"))
    return f"exit {rc}; {fmt_out(outputs(d))}"


def f_vfr(co, d, src):
    rng = np.random.default_rng(1)
    times = np.concatenate([[0], np.cumsum(rng.uniform(0.01, 0.2, 29))])
    path = clip(d / "vfr.mp4", times=list(times))
    rc, err, _ = co.run(str(path), "--out", str(d / "o.mp4"), "--json", str(d / "o.jsonl"))
    if rc != 0:
        return f"exit {rc}; {said(err)}"
    with av.open(str(d / "o.mp4")) as c:
        vt = [float(f.time) for f in c.decode(video=0)]
    jt = [json.loads(ln)["time"] for ln in (d / "o.jsonl").read_text().splitlines()[1:]]
    ok_v = len(vt) == 30 and np.allclose(vt, times, atol=2e-3)
    ok_j = len(jt) == 30 and np.allclose(jt, times, atol=2e-3)
    return f"exit 0; timestamps kept: MP4 {'yes' if ok_v else 'no'}, JSONL {'yes' if ok_j else 'no'}"


FAULTS = [
    ("`--out x.mp4 --json x.mp4` (one file for two outputs)", f_same_path),
    ("`--json` is the source video", f_json_is_source),
    ("`--out` is the source video", f_out_is_source),
    ("`--out` is a symlink to the source", f_out_symlink),
    ("`--csv` is a hard link to the source", f_csv_hardlink),
    ("`--out` in a folder that cannot exist (its parent is a file)", f_unwritable),
    ("Ctrl-C at 10 moments in the first 1.6 s", f_sigint_early),
    ("SIGTERM at 4 moments in the first 1.2 s", f_sigterm_early),
    ("double Ctrl-C during the run", f_double_ctrl_c),
    ("SIGKILL during the run", f_sigkill),
    ("disk full (128 KiB tmpfs)", f_full_disk),
    ("MP4 (index at the start) cut at 50 %", f_cut_mp4),
    ("MP4 (index at the end) cut at 50 %", f_cut_mp4_moov_end),
    ("vtest.avi cut at 50 %", f_cut_avi),
    ("zero-length file", f_zero_length),
    ("random bytes named .mp4", f_random_bytes),
    ("audio-only file", f_audio_only),
    ("image folder with one corrupt JPEG of 6", f_corrupt_image),
    ("phone video with a 90° display matrix", f_rotated),
    ("1×1 video", f_tiny),
    ("4K video (2 frames)", f_4k),
    ("variable frame rate (30 frames, random gaps)", f_vfr),
]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repo", action="append", required=True, metavar="LABEL=PATH",
                   help="a checkout to try (repeat to compare)")
    p.add_argument("--only", help="run only faults whose title contains this text")
    p.add_argument("--json", help="write the results here")
    a = p.parse_args(argv)
    checkouts = []
    for r in a.repo:
        label, _, path = r.rpartition("=")
        checkouts.append(Checkout(label or Path(path).name, Path(path)))
    results: dict[str, dict[str, str]] = {}
    for title, fn in FAULTS:
        if a.only and a.only not in title:
            continue
        results[title] = {}
        for co in checkouts:
            with tempfile.TemporaryDirectory(prefix="faults-") as tmp:
                d = Path(tmp)
                src = d / "in.mp4"
                shutil.copy(SAMPLE, src)
                try:
                    results[title][co.label] = fn(co, d, src)
                except Exception as exc:  # noqa: BLE001 - a fault the table itself could not run
                    results[title][co.label] = f"could not run: {type(exc).__name__}: {exc}"
            print(f"{title} [{co.label}]: {results[title][co.label]}", file=sys.stderr, flush=True)
    labels = [co.label for co in checkouts]
    print("| fault | " + " | ".join(labels) + " |")
    print("|---|" + "---|" * len(labels))
    for title, row in results.items():
        print(f"| {title} | " + " | ".join(row[lb].replace("|", "\\|") for lb in labels) + " |")
    if a.json:
        Path(a.json).write_text(json.dumps({"load_average": os.getloadavg(), "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
