#!/usr/bin/python3
"""Decode fixtures: small images in the encodings users feed us, and what OpenCV 4.6's imread makes of them.

yolo-trt decodes with sharp; the reference (Ultralytics) reads with cv2.imread(IMREAD_COLOR). This script
writes a few small files with cv2 (gray JPEG, colour JPEG (4:2:0, quality 100, progressive), PNG with alpha, gray PNG,
16-bit PNG, lossless WebP, TIFF; plus a CMYK JPEG written by sharp) and records the sha256 of cv2.imread's pixels converted to
RGB, so test/e2e/decode-parity.test.ts can check that our decoder hands the network the same pixels.
Run with Debian's python3-opencv: /usr/bin/python3 scripts/make-decode-fixtures.py
"""
import hashlib
import json
import os

import cv2
import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "decode")


def scene(h, w, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([(x * 5 + y * 3) % 256, (x * 2 + y * 7) % 256, (x * y) % 256], axis=-1).astype(np.int32)
    noise = rng.integers(-20, 21, size=(h, w, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = []
    bgr = scene(61, 83, 1)

    def add(name, params=None, image=None):
        path = os.path.join(OUT, name)
        cv2.imwrite(path, bgr if image is None else image, params or [])
        decoded = cv2.imread(path, cv2.IMREAD_COLOR)
        rgb = cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
        cases.append(
            {
                "file": name,
                "width": int(rgb.shape[1]),
                "height": int(rgb.shape[0]),
                "sha256": hashlib.sha256(np.ascontiguousarray(rgb).tobytes()).hexdigest(),
            }
        )

    add("color-420.jpg", [cv2.IMWRITE_JPEG_QUALITY, 85])
    add("quality100.jpg", [cv2.IMWRITE_JPEG_QUALITY, 100])
    add("progressive.jpg", [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    add("gray.jpg", [cv2.IMWRITE_JPEG_QUALITY, 90], cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    add("color.png")
    add("gray.png", None, cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    alpha = np.dstack([bgr, scene(61, 83, 2)[:, :, 0]])
    add("alpha.png", None, alpha)
    add("deep16.png", None, bgr.astype(np.uint16) * 256 + scene(61, 83, 3).astype(np.uint16))
    add("gray16.png", None, cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.uint16) * 257)
    add("lossless.webp", [cv2.IMWRITE_WEBP_QUALITY, 101])
    add("color.tiff")
    # Files cv2 cannot write, kept in the fixtures and written by sharp: a CMYK JPEG
    # (sharp('color.png').toColourspace('cmyk').jpeg({quality: 95})) and copies of color.png tagged with
    # EXIF Orientation 6 (sharp(...).withMetadata({orientation: 6})). Only cv2's reading of them is recorded:
    # imread applies the orientation for JPEG, PNG and TIFF but not for WebP. icc-p3.jpg carries a Display P3
    # profile (sharp(...).jpeg({quality: 92}).withIccProfile('p3')), which imread ignores.
    for name in ["cmyk.jpg", "exif6.jpg", "exif6.png", "exif6.tiff", "exif6.webp", "icc-p3.jpg"]:
        path = os.path.join(OUT, name)
        if not os.path.exists(path):
            continue
        decoded = cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        cases.append(
            {
                "file": name,
                "width": int(decoded.shape[1]),
                "height": int(decoded.shape[0]),
                "sha256": hashlib.sha256(np.ascontiguousarray(decoded).tobytes()).hexdigest(),
            }
        )
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump({"opencv": cv2.__version__, "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
