#!/usr/bin/env python3
"""scripts/gpu-check, the Python half: prepares inputs, drives yolo_gpu_check (gpu_check.cpp), compares the
GPU results with the CPU path and the golden detections, times the kernels, writes the report.

  check.py prepare --shared ../shared/assets --out build-gpu-check/assets     (here: OpenCV 4.6 decode)
  check.py run --assets build-gpu-check/assets --bin build-gpu-check/yolo_gpu_check --report DIR

`prepare` decodes the images once with this machine's OpenCV 4.6 (the decoder the golden file was made
with) and stores raw pixels, so the GPU machine's different OpenCV cannot change a single byte. `run`
needs numpy and, for raw model outputs, onnxruntime (Python) or --ort-node (onnxruntime-node here).

Checks (each PASS/FAIL in the report):
  letterbox   GPU == CPU, byte for byte: 10 real images + awkward synthetic sizes (1280x853, 1000x751, 2x3,
              1280x1280 = exact 2x, 33x17 upscale, 640x640 copy, 1x1000, 3000x2), formats bgr/rgb/rgba/bgra/
              gray, tight and padded strides, float32/float16/uint8, 640x640 and 640x384 inputs, all images
              of a case in one launch
  postprocess GPU rows == CPU rows, byte for byte, on yolo11n's raw outputs of the 10 images (batch 10):
              default, conf 0.001, conf 0 (8400 candidates: the global-memory sort), agnostic, classes 0,2,
              max_det 1 and 0, iou 0.45
  pipeline    GPU letterbox -> injected onnxruntime outputs -> GPU decode/NMS: == CPU rows, and == golden
              (boxes within 0.01 px, conf within 1e-4), float32 and float16 inputs
  timing      p50/p95 of letterbox 1920x1080 -> 640 at batch 1, 8, 32 (float32, float16), and of
              decode + sort + NMS + download over 8400 anchors at batch 1, 8, 32 (conf 0.25 and 0.001)
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

FORMATS = {"rgb": 0, "bgr": 1, "rgba": 2, "bgra": 3, "gray": 4}
CHANNELS = {"rgb": 3, "bgr": 3, "rgba": 4, "bgra": 4, "gray": 1}
BOX_TOLERANCE = 0.01
CONF_TOLERANCE = 1e-4


# ---- files ------------------------------------------------------------------------------------------


def write_image(path, pixels, fmt, pad=0):
    """pixels: HxWxC uint8 (HxW for gray). pad: extra bytes at the end of each row (odd strides)."""
    h, w = pixels.shape[:2]
    row = w * CHANNELS[fmt]
    stride = row + pad
    buf = np.zeros((h, stride), np.uint8)
    buf[:, :row] = pixels.reshape(h, row)
    if pad:
        buf[:, row:] = 0xA5  # garbage the kernels must never read
    with open(path, "wb") as f:
        f.write(struct.pack("<4i", w, h, stride, FORMATS[fmt]))
        f.write(buf.tobytes())


def read_image(path):
    with open(path, "rb") as f:
        w, h, stride, fmt = struct.unpack("<4i", f.read(16))
        data = np.frombuffer(f.read(), np.uint8)
    name = {v: k for k, v in FORMATS.items()}[fmt]
    row = w * CHANNELS[name]
    pixels = data[: h * stride].reshape(h, stride)[:, :row].reshape((h, w, CHANNELS[name]) if CHANNELS[name] > 1 else (h, w))
    return pixels, name


def read_rows(path, count):
    out = []
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    for _ in range(count):
        (n,) = struct.unpack_from("<i", data, pos)
        pos += 4
        rows = np.frombuffer(data, np.float32, n * 6, pos).reshape(n, 6)
        pos += n * 24
        out.append(rows)
    if pos != len(data):
        raise RuntimeError(f"{path}: {len(data) - pos} trailing bytes")
    return out


# ---- prepare (on this machine) ----------------------------------------------------------------------


def prepare(args):
    import cv2  # Debian's python3-opencv 4.6: the decoder of the golden file

    shared = os.path.abspath(args.shared)
    out = os.path.abspath(args.out)
    os.makedirs(os.path.join(out, "images"), exist_ok=True)
    golden = json.load(open(os.path.join(shared, "golden", "yolo11n.json")))
    found = []
    for key in golden:
        for sub in ("images", "datasets/coco8/images/train", "datasets/coco8/images/val"):
            p = os.path.join(shared, sub, key + ".jpg")
            if os.path.exists(p):
                bgr = cv2.imread(p, cv2.IMREAD_COLOR)
                write_image(os.path.join(out, "images", key + ".rgb"), bgr, "bgr")
                found.append(key)
                break
        else:
            raise SystemExit(f"golden image {key} not found under {shared}")
    bus = cv2.imread(os.path.join(shared, "images", "bus.jpg"), cv2.IMREAD_COLOR)
    frame = cv2.resize(bus, (1920, 1080), interpolation=cv2.INTER_LINEAR)
    write_image(os.path.join(out, "frame1080.rgb"), frame, "bgr")
    shutil.copy(os.path.join(shared, "models", "yolo11n.onnx"), os.path.join(out, "yolo11n.onnx"))
    shutil.copy(os.path.join(shared, "golden", "yolo11n.json"), os.path.join(out, "golden.json"))
    json.dump({"images": found, "opencv": cv2.__version__}, open(os.path.join(out, "manifest.json"), "w"), indent=1)
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(out) for f in fs)
    print(f"prepared {len(found)} images + 1080p frame + model in {out} ({total / 2**20:.1f} MiB)")


# ---- run (on the GPU machine) -----------------------------------------------------------------------


class Checker:
    def __init__(self, args):
        self.bin = os.path.abspath(args.bin)
        self.assets = os.path.abspath(args.assets)
        self.tmp = tempfile.mkdtemp(prefix="yolo-gpu-check-")
        self.ort_node = args.ort_node
        self.results = []
        self.timings = {}
        self.manifest = json.load(open(os.path.join(self.assets, "manifest.json")))
        self.keys = self.manifest["images"]

    def tool(self, *argv):
        r = subprocess.run([self.bin, *map(str, argv)], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"yolo_gpu_check {argv[0]} failed ({r.returncode}): {r.stderr.strip() or r.stdout.strip()}")
        return r.stdout

    def record(self, group, name, ok, detail=""):
        self.results.append({"group": group, "case": name, "ok": bool(ok), "detail": detail})
        print(f"{'PASS' if ok else 'FAIL'}  {group:11s} {name}{('  ' + detail) if detail and not ok else ''}", flush=True)

    def path(self, name):
        return os.path.join(self.tmp, name)

    # -- letterbox --
    def letterbox_cases(self):
        real = [read_image(os.path.join(self.assets, "images", k + ".rgb"))[0] for k in self.keys]
        rng = np.random.default_rng(1234)
        sizes = [(1280, 853), (1000, 751), (2, 3), (1280, 1280), (33, 17), (640, 640), (1, 1000), (3000, 2)]
        synthetic = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for (w, h) in sizes]
        return {"real": real, "synthetic": synthetic}

    @staticmethod
    def convert(bgr, fmt):
        if fmt == "bgr":
            return bgr
        if fmt == "rgb":
            return bgr[:, :, ::-1].copy()
        alpha = np.full(bgr.shape[:2] + (1,), 200, np.uint8)
        if fmt == "bgra":
            return np.concatenate([bgr, alpha], axis=2)
        if fmt == "rgba":
            return np.concatenate([bgr[:, :, ::-1], alpha], axis=2)
        # gray: any fixed byte per pixel is a valid gray image; take the green channel
        return bgr[:, :, 1].copy()

    def check_letterbox(self):
        sets = self.letterbox_cases()
        for set_name, images in sets.items():
            for fmt in FORMATS:
                for pad in (0, 7):
                    files = []
                    for i, img in enumerate(images):
                        f = self.path(f"lb-{set_name}-{fmt}-{pad}-{i}.rgb")
                        write_image(f, self.convert(img, fmt), fmt, pad)
                        files.append(f)
                    for w, h in ((640, 640), (640, 384)):
                        for dtype in ("f32", "f16", "u8"):
                            name = f"{set_name} x{len(files)} {fmt} pad{pad} {w}x{h} {dtype}"
                            cpu, gpu = self.path("lb-cpu.bin"), self.path("lb-gpu.bin")
                            try:
                                self.tool("letterbox", "--size", f"{w}x{h}", "--dtype", dtype, "--out-cpu", cpu, "--out-gpu", gpu, *files)
                                a, b = np.fromfile(cpu, np.uint8), np.fromfile(gpu, np.uint8)
                                diff = int(np.count_nonzero(a != b)) if a.size == b.size else -1
                                self.record("letterbox", name, a.size == b.size and diff == 0, f"{diff} bytes differ of {a.size}")
                            except RuntimeError as e:
                                self.record("letterbox", name, False, str(e))

    # -- raw outputs --
    def raw_outputs(self):
        """yolo11n raw outputs [10, 84, 8400] for the 10 images, from the CPU letterbox tensor."""
        files = [os.path.join(self.assets, "images", k + ".rgb") for k in self.keys]
        tensor = self.path("tensor.f32")
        self.tool("letterbox", "--size", "640x640", "--dtype", "f32", "--out-cpu", tensor, "--out-gpu", self.path("unused.bin"), *files)
        x = np.fromfile(tensor, np.float32).reshape(len(files), 3, 640, 640)
        model = os.path.join(self.assets, "yolo11n.onnx")
        raw = self.path("raw.f32")
        if self.ort_node:
            np.ascontiguousarray(x).tofile(self.path("tensor-in.f32"))
            here = os.path.dirname(os.path.abspath(__file__))
            subprocess.run(["node", os.path.join(here, "ort-raw.mjs"), model, self.path("tensor-in.f32"), str(len(files)), raw], check=True)
            out = np.fromfile(raw, np.float32)
        else:
            import onnxruntime as ort

            session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
            name = session.get_inputs()[0].name
            out = np.concatenate([session.run(None, {name: x[i : i + 1]})[0] for i in range(len(files))])
            out.astype(np.float32).tofile(raw)
        n = out.size // len(files) // 84
        return raw, (len(files), 84, n), files

    # -- postprocess --
    def check_postprocess(self, raw, dims, files):
        sizes = []
        for f in files:
            with open(f, "rb") as fh:
                w, h = struct.unpack("<2i", fh.read(8))
            sizes += [w, h]
        cases = [
            ("default", []),
            ("conf 0.001", ["--conf", "0.001"]),
            ("conf 0 (every anchor a candidate: global-memory sort, 30000 cap path)", ["--conf", "0"]),
            ("agnostic", ["--agnostic"]),
            ("classes 0,2", ["--classes", "0,2"]),
            ("max_det 1", ["--max-det", "1"]),
            ("max_det 0", ["--max-det", "0"]),
            ("iou 0.45", ["--iou", "0.45"]),
            ("conf 0.001 iou 0.6 max_det 30000", ["--conf", "0.001", "--iou", "0.6", "--max-det", "30000"]),
        ]
        for name, extra in cases:
            cpu, gpu = self.path("pp-cpu.bin"), self.path("pp-gpu.bin")
            try:
                self.tool("postprocess", "--raw", raw, "--dims", ",".join(map(str, dims)), "--input", "640x640",
                          "--sizes", ",".join(map(str, sizes)), "--out-cpu", cpu, "--out-gpu", gpu, *extra)
                a, b = open(cpu, "rb").read(), open(gpu, "rb").read()
                counts = [len(r) for r in read_rows(cpu, dims[0])]
                self.record("postprocess", f"{name} (rows per image {counts})", a == b,
                            "identical" if a == b else f"first difference at byte {next(i for i in range(min(len(a), len(b))) if a[i] != b[i]) if a[:min(len(a), len(b))] != b[:min(len(a), len(b))] else min(len(a), len(b))}")
            except RuntimeError as e:
                self.record("postprocess", name, False, str(e))
        return sizes

    # -- pipeline --
    def check_pipeline(self, raw, dims, files, sizes):
        golden = json.load(open(os.path.join(self.assets, "golden.json")))
        cpu_rows = self.path("pl-cpu.bin")
        self.tool("postprocess", "--raw", raw, "--dims", ",".join(map(str, dims)), "--input", "640x640",
                  "--sizes", ",".join(map(str, sizes)), "--out-cpu", cpu_rows, "--out-gpu", self.path("unused2.bin"))
        for dtype in ("f32", "f16"):
            out = self.path(f"pl-gpu-{dtype}.bin")
            try:
                timing = json.loads(self.tool("pipeline", "--size", "640x640", "--dtype", dtype, "--raw", raw,
                                              "--dims", ",".join(map(str, dims)), "--out-gpu", out, *files))
            except RuntimeError as e:
                self.record("pipeline", f"{dtype} input", False, str(e))
                continue
            same = open(out, "rb").read() == open(cpu_rows, "rb").read()
            self.record("pipeline", f"{dtype} input: GPU rows == CPU rows", same)
            rows = read_rows(out, dims[0])
            problems = []
            for key, r in zip(self.keys, rows):
                exp = golden[key]
                if len(r) != len(exp):
                    problems.append(f"{key}: {len(r)} detections, golden {len(exp)}")
                    continue
                for got, want in zip(r, exp):
                    if int(got[5]) != want["cls"] or abs(float(got[4]) - want["conf"]) > CONF_TOLERANCE or \
                            max(abs(float(g) - w) for g, w in zip(got[:4], want["box"])) > BOX_TOLERANCE:
                        problems.append(f"{key}: got {[round(float(v), 3) for v in got]} want {want}")
                        break
            self.record("pipeline", f"{dtype} input: == golden/yolo11n.json (10 images)", not problems, "; ".join(problems[:3]))
            self.timings[f"pipeline_{dtype}_batch{dims[0]}_ms"] = timing

    # -- timing --
    def time_kernels(self, raw, dims):
        frame = os.path.join(self.assets, "frame1080.rgb")
        for dtype in ("f32", "f16"):
            for batch in (1, 8, 32):
                out = json.loads(self.tool("time-letterbox", "--size", "640x640", "--dtype", dtype, "--iterations", 300,
                                           "--repeat", batch, frame))
                self.timings[f"letterbox_1080p_{dtype}_batch{batch}"] = summarize(out["us"], batch)
        # the same with the drift-monitoring image statistics accumulated in the kernel
        for batch in (1, 8):
            out = json.loads(self.tool("time-letterbox", "--size", "640x640", "--dtype", "f32", "--iterations", 300,
                                       "--repeat", batch, "--stats", 1, frame))
            self.timings[f"letterbox_stats_1080p_f32_batch{batch}"] = summarize(out["us"], batch)
        # raw outputs of one image, repeated to the batch (decode/NMS cost does not depend on which image)
        one = self.path("raw1.f32")
        np.fromfile(raw, np.float32)[: dims[1] * dims[2]].tofile(one)
        for conf in ("0.25", "0.001"):
            for batch in (1, 8, 32):
                out = json.loads(self.tool("time-postprocess", "--raw", one, "--dims", f"{batch},{dims[1]},{dims[2]}",
                                           "--input", "640x640", "--sizes", "810,1080", "--conf", conf, "--iterations", 300))
                self.timings[f"decode_nms_{dims[2]}anchors_conf{conf}_batch{batch}"] = summarize(out["us"], batch)


def summarize(samples, batch):
    if not samples:
        return {"samples": 0}
    a = np.sort(np.asarray(samples, np.float64))
    p = lambda q: float(a[min(len(a) - 1, int(q * (len(a) - 1) + 0.5))])
    return {"samples": len(a), "batch": batch, "p50_us": round(p(0.5), 2), "p95_us": round(p(0.95), 2),
            "p50_us_per_image": round(p(0.5) / batch, 2), "min_us": round(float(a[0]), 2)}


def run(args):
    c = Checker(args)
    info = json.loads(c.tool("info"))
    print(f"device: {info}", flush=True)
    started = time.time()
    c.check_letterbox()
    raw, dims, files = c.raw_outputs()
    sizes = c.check_postprocess(raw, dims, files)
    c.check_pipeline(raw, dims, files, sizes)
    if not args.skip_timing:
        c.time_kernels(raw, dims)
    failed = [r for r in c.results if not r["ok"]]
    report = {
        "emulated": os.environ.get("YOLO_GPU_CHECK_EMULATE") == "1",
        "device": info,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": round(time.time() - started, 1),
        "passed": len(c.results) - len(failed),
        "failed": len(failed),
        "results": c.results,
        "timings": c.timings,
        "aims": {"letterbox_1080p_per_frame_us": 50, "decode_nms_per_image_us": 100},
    }
    os.makedirs(args.report, exist_ok=True)
    path = os.path.join(args.report, "gpu-check.json")
    json.dump(report, open(path, "w"), indent=1)
    lines = [f"# gpu-check {report['date']}{' (EMULATED on CPU: not a GPU result)' if report['emulated'] else ''}",
             f"device: {info['device']} (compute {info['computeCapability']}, driver {info['driver']}, runtime {info['runtime']})",
             f"checks: {report['passed']} passed, {report['failed']} failed", ""]
    lines += [f"- FAIL {r['group']} {r['case']}: {r['detail']}" for r in failed]
    lines += ["", "| timing | p50 us | p95 us | p50 us / image |", "| --- | --- | --- | --- |"]
    for k, v in c.timings.items():
        if "p50_us" in v:
            lines.append(f"| {k} | {v['p50_us']} | {v['p95_us']} | {v['p50_us_per_image']} |")
    open(os.path.join(args.report, "gpu-check.md"), "w").write("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"report: {path}")
    shutil.rmtree(c.tmp, ignore_errors=True)
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--shared", required=True)
    p.add_argument("--out", required=True)
    r = sub.add_parser("run")
    r.add_argument("--assets", required=True)
    r.add_argument("--bin", required=True)
    r.add_argument("--report", required=True)
    r.add_argument("--ort-node", action="store_true", help="raw outputs from onnxruntime-node (no Python onnxruntime)")
    r.add_argument("--skip-timing", action="store_true")
    args = ap.parse_args()
    sys.exit(prepare(args) if args.cmd == "prepare" else run(args))


if __name__ == "__main__":
    main()
