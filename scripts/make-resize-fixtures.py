#!/usr/bin/python3
"""Letterbox fixtures from Debian's OpenCV (python3-opencv 4.6): the truth our native resize must match.

Usage: python3 scripts/make-resize-fixtures.py   (npm run fixtures)
Writes test/fixtures/resize/cases.json (+ a few small .gz files). Read by test/native/letterbox.test.ts.

The letterbox is done the way ../shared/docs/ULTRALYTICS.md describes Ultralytics' LetterBox:
r = min(H/h, W/w); new = round(size * r) (Python round: half to even); cv2.resize INTER_LINEAR on uint8
only when the size changes; cv2.copyMakeBorder with 114; left/top = round(pad/2 - 0.1).

Fixtures stay small: large sources are not stored. They are generated from a formula that the TS test
reproduces exactly (test/native/fixtures.ts):
  pattern: (x*7 + y*13 + c*29 + ((x*y) % 17)*11) & 255
  hash:    a 32-bit integer hash of (x, y, c) (noise-like, see hash_source below)
  gray:    pattern with c = 0, one channel (replicated to BGR before the resize, as imread does)
Only sha256 of cv2's letterboxed HWC uint8 output is stored, plus the full bytes (gzip) for outputs of at
most 64 KB. A few random-noise sources are small enough to be stored themselves (gzip).
"""

import gzip
import hashlib
import json
import os
import sys

try:
    import cv2
    import numpy as np
except ImportError:
    # pyenv and similar shims hide Debian's dist-packages: retry with the system interpreter.
    if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3", *sys.argv])
    sys.exit("make-resize-fixtures: needs cv2 and numpy (Debian: apt install python3-opencv python3-numpy)")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "test", "fixtures", "resize")
ASSETS = os.environ.get("YOLO_TRT_ASSETS", os.path.join(ROOT, "..", "shared", "assets"))
FULL_BYTES_LIMIT = 64 * 1024


def pattern_source(w, h, channels):
    y, x = np.mgrid[0:h, 0:w].astype(np.int64)
    planes = [(x * 7 + y * 13 + c * 29 + ((x * y) % 17) * 11) & 255 for c in range(channels)]
    return np.stack(planes, axis=-1).astype(np.uint8)


def hash_source(w, h, channels):
    """Noise-like but reproducible in JS with Math.imul: a murmur3-style finaliser of x, y, c."""
    y, x = np.mgrid[0:h, 0:w].astype(np.uint64)
    mask = np.uint64(0xFFFFFFFF)
    planes = []
    for c in range(channels):
        v = (x * np.uint64(0x9E3779B1) + y * np.uint64(0x85EBCA77) + np.uint64(c) * np.uint64(0xC2B2AE3D)) & mask
        v ^= v >> np.uint64(16)
        v = (v * np.uint64(0x7FEB352D)) & mask
        v ^= v >> np.uint64(15)
        v = (v * np.uint64(0x846CA68B)) & mask
        v ^= v >> np.uint64(16)
        planes.append(v & np.uint64(255))
    return np.stack(planes, axis=-1).astype(np.uint8)


def noise_source(w, h, seed):
    """Seeded numpy noise plus gradients: stored as a file (the test cannot reproduce numpy's RNG)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    grad = np.stack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), (x + y) * 255 // max(w + h - 2, 1)], -1)
    noise = rng.integers(-60, 61, size=(h, w, 3))
    return np.clip(grad + noise, 0, 255).astype(np.uint8)


def py_round(v):
    return int(round(v))  # Python 3 round: half to even


def letterbox(img_hwc3, dst_w, dst_h):
    h, w = img_hwc3.shape[:2]
    r = min(dst_h / h, dst_w / w)
    new_w, new_h = py_round(w * r), py_round(h * r)
    dw, dh = (dst_w - new_w) / 2, (dst_h - new_h) / 2
    out = img_hwc3
    if (w, h) != (new_w, new_h):
        out = cv2.resize(img_hwc3, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    top, bottom = py_round(dh - 0.1), py_round(dh + 0.1)
    left, right = py_round(dw - 0.1), py_round(dw + 0.1)
    out = cv2.copyMakeBorder(out, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(114, 114, 114))
    assert out.shape == (dst_h, dst_w, 3), out.shape
    inv_x, inv_y = w / new_w, h / new_h  # OpenCV's per-axis scale (1 / (dst / src)), informative only
    geometry = {"newWidth": new_w, "newHeight": new_h, "left": left, "top": top, "ratio": r}
    # scale_boxes' own padding, from the unrounded size (may differ by 1 from left/top).
    gain = min(dst_h / h, dst_w / w)
    pads = {"x": py_round((dst_w - w * gain) / 2 - 0.1), "y": py_round((dst_h - h * gain) / 2 - 0.1), "gain": gain}
    area2x = (w, h) != (new_w, new_h) and abs(1 / (new_w / w) - 2) < 2.2e-16 and abs(1 / (new_h / h) - 2) < 2.2e-16
    return np.ascontiguousarray(out), geometry, pads, {"resized": (w, h) != (new_w, new_h), "area2x": area2x,
                                                       "scaleX": inv_x, "scaleY": inv_y}


def sha256(a):
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def write_gz(name, data):
    path = os.path.join(OUT_DIR, name)
    with gzip.GzipFile(path, "wb", mtime=0) as f:  # mtime 0: identical bytes on every run
        f.write(data)
    return name


def make_case(name, source_desc, src, dst_w, dst_h):
    img3 = cv2.cvtColor(src, cv2.COLOR_GRAY2BGR) if src.shape[2] == 1 else src
    out, geometry, pads, info = letterbox(img3, dst_w, dst_h)
    case = {
        "name": name,
        "source": source_desc,
        "target": {"width": dst_w, "height": dst_h},
        "geometry": geometry,
        "scaleBoxesPad": pads,
        **info,
        "sha256": sha256(out),
    }
    if out.nbytes <= FULL_BYTES_LIMIT:
        case["outputFile"] = write_gz(f"{name}.out.gz", out.tobytes())
    return case


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    for f in os.listdir(OUT_DIR):
        if f.endswith(".gz") or f == "cases.json":
            os.remove(os.path.join(OUT_DIR, f))

    sizes = [(1280, 853), (1000, 751), (2, 3), (3, 2), (1280, 1280), (33, 17), (1, 1), (641, 480), (1920, 1080),
             (810, 1080), (1280, 960), (640, 512)]
    targets = [(640, 640), (320, 256), (480, 640)]
    small_target = (80, 64)
    cases = []
    for (w, h) in sizes:
        for (tw, th) in targets + [small_target]:
            cases.append(make_case(f"pattern-{w}x{h}-to-{tw}x{th}", {"kind": "pattern", "width": w, "height": h,
                                                                      "channels": 3},
                                   pattern_source(w, h, 3), tw, th))
        for (tw, th) in targets:
            cases.append(make_case(f"hash-{w}x{h}-to-{tw}x{th}", {"kind": "hash", "width": w, "height": h,
                                                                   "channels": 3},
                                   hash_source(w, h, 3), tw, th))
    for (w, h) in [(1280, 853), (1000, 751), (33, 17), (1280, 1280), (3, 2)]:
        for (tw, th) in [(640, 640), (320, 256)]:
            cases.append(make_case(f"gray-{w}x{h}-to-{tw}x{th}", {"kind": "gray", "width": w, "height": h,
                                                                   "channels": 1},
                                   pattern_source(w, h, 1), tw, th))
    for i, (w, h, tw, th) in enumerate([(97, 61, 64, 48), (150, 101, 96, 80), (40, 90, 72, 72), (128, 96, 64, 64)]):
        src = noise_source(w, h, seed=1234 + i)
        name = f"noise{i}-{w}x{h}"
        src_file = write_gz(f"{name}.src.gz", src.tobytes())
        cases.append(make_case(f"{name}-to-{tw}x{th}", {"kind": "file", "width": w, "height": h, "channels": 3,
                                                         "file": src_file}, src, tw, th))

    images = []
    for file in ["bus.jpg", "zidane.jpg"]:
        path = os.path.join(ASSETS, "images", file)
        if not os.path.exists(path):
            print(f"make-resize-fixtures: {path} not found, skipping (set YOLO_TRT_ASSETS)", file=sys.stderr)
            continue
        rgb = cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)
        out, geometry, pads, info = letterbox(rgb, 640, 640)
        images.append({"file": f"images/{file}", "width": rgb.shape[1], "height": rgb.shape[0],
                       "decodedSha256": sha256(rgb), "geometry": geometry, **info, "sha256": sha256(out)})

    doc = {
        "generator": "scripts/make-resize-fixtures.py",
        "opencv": cv2.__version__,
        "layout": "sha256 of the letterboxed image as HWC uint8 RGB (pattern/hash channels are R, G, B)",
        "cases": cases,
        "images": images,
    }
    with open(os.path.join(OUT_DIR, "cases.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT_DIR, f)) for f in os.listdir(OUT_DIR))
    print(f"make-resize-fixtures: {len(cases)} cases, {len(images)} real images, {total} bytes in {OUT_DIR} "
          f"(OpenCV {cv2.__version__})")


if __name__ == "__main__":
    main()
