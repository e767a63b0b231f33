#!/usr/bin/python3
"""BMP fixtures: hand-made files in every BMP variant OpenCV reads (and some it refuses), and what OpenCV
4.6's cv2.imread(IMREAD_COLOR) makes of each: the sha256 of its pixels converted to RGB, or "refused" when
imread returns None. test/e2e/bmp-decode.test.ts checks that yolo-trt decodes each one to the same pixels
or refuses it too. The files are written here byte by byte (cv2.imwrite only writes 8-bit gray and 24-bit).
Run with Debian's python3-opencv: /usr/bin/python3 scripts/make-bmp-fixtures.py
"""
import hashlib
import json
import os
import struct

import cv2
import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "decode", "bmp")
RNG = np.random.default_rng(7)


def file_header(total, offset):
    return b"BM" + struct.pack("<IHHI", total, 0, 0, offset)


def info_header(w, h, bpp, compression=0, image_size=0, colors=0, size=40):
    head = struct.pack("<iiHHIIiiII", w, h, 1, bpp, compression, image_size, 2835, 2835, colors, 0)
    return struct.pack("<I", size) + head + b"\0" * (size - 40)


def pad_rows(rows, pitch):
    return b"".join(r + b"\0" * (pitch - len(r)) for r in rows)


def bmp(w, h, bpp, rows_bytes, palette=b"", compression=0, colors=0, size=40, extra=b"", top_down=False):
    header = info_header(w, -h if top_down else h, bpp, compression, len(rows_bytes), colors, size)
    offset = 14 + len(header) + len(extra) + len(palette)
    return file_header(offset + len(rows_bytes), offset) + header + extra + palette + rows_bytes


def palette_bytes(n, gray=False):
    out = b""
    for i in range(n):
        if gray:
            v = i * 255 // max(1, n - 1)
            out += bytes([v, v, v, 0])
        else:
            b, g, r = RNG.integers(0, 256, size=3)
            out += bytes([int(b), int(g), int(r), 0])
    return out


def indexed_rows(w, h, bpp, max_index):
    rows = []
    for _ in range(h):
        idx = RNG.integers(0, max_index, size=w)
        bits = "".join(format(int(i), f"0{bpp}b") for i in idx)
        bits += "0" * (-len(bits) % 8)
        rows.append(int(bits, 2).to_bytes(len(bits) // 8, "big") if bits else b"")
    return rows


def pitch(w, bpp):
    return ((w * bpp + 7) // 8 + 3) & ~3


def cases():
    w, h = 13, 7
    c = {}
    # Palettes: 1, 4, 8 bits; odd widths; an 8-bit palette shorter than the indices used (black past it).
    c["pal1.bmp"] = bmp(w, h, 1, pad_rows(indexed_rows(w, h, 1, 2), pitch(w, 1)), palette_bytes(2))
    c["pal4.bmp"] = bmp(w, h, 4, pad_rows(indexed_rows(w, h, 4, 16), pitch(w, 4)), palette_bytes(16))
    c["pal8-topdown.bmp"] = bmp(
        w, h, 8, pad_rows(indexed_rows(w, h, 8, 256), pitch(w, 8)), palette_bytes(256), top_down=True
    )
    c["pal8-short-palette.bmp"] = bmp(
        w, h, 8, pad_rows(indexed_rows(w, h, 8, 40), pitch(w, 8)), palette_bytes(20), colors=20
    )
    c["pal8-gray.bmp"] = bmp(w, h, 8, pad_rows(indexed_rows(w, h, 8, 256), pitch(w, 8)), palette_bytes(256, True))
    # 16-bit: BI_RGB (5-5-5), BITFIELDS 5-6-5 and 5-5-5, BITFIELDS 4-4-4 (refused).
    px16 = [RNG.integers(0, 65536, size=w).astype("<u2").tobytes() for _ in range(h)]
    c["rgb555.bmp"] = bmp(w, h, 16, pad_rows(px16, pitch(w, 16)))
    c["bitfields565.bmp"] = bmp(w, h, 16, pad_rows(px16, pitch(w, 16)), compression=3,
                                extra=struct.pack("<III", 0xF800, 0x7E0, 0x1F))
    c["bitfields555.bmp"] = bmp(w, h, 16, pad_rows(px16, pitch(w, 16)), compression=3,
                                extra=struct.pack("<III", 0x7C00, 0x3E0, 0x1F))
    c["bitfields444-refused.bmp"] = bmp(w, h, 16, pad_rows(px16, pitch(w, 16)), compression=3,
                                        extra=struct.pack("<III", 0xF00, 0xF0, 0xF))
    # 24-bit bottom-up and top-down; 32-bit BI_RGB and BITFIELDS with RGBA masks (imread ignores masks).
    px24 = [RNG.integers(0, 256, size=w * 3).astype(np.uint8).tobytes() for _ in range(h)]
    c["rgb24.bmp"] = bmp(w, h, 24, pad_rows(px24, pitch(w, 24)))
    c["rgb24-topdown.bmp"] = bmp(w, h, 24, pad_rows(px24, pitch(w, 24)), top_down=True)
    c["rgb24-v5header.bmp"] = bmp(w, h, 24, pad_rows(px24, pitch(w, 24)), size=124)
    px32 = [RNG.integers(0, 256, size=w * 4).astype(np.uint8).tobytes() for _ in range(h)]
    c["rgb32.bmp"] = bmp(w, h, 32, b"".join(px32))
    c["bitfields32-rgba.bmp"] = bmp(w, h, 32, b"".join(px32), compression=3,
                                    extra=struct.pack("<III", 0xFF, 0xFF00, 0xFF0000))
    # OS/2 core header (12 bytes, 3-byte palette).
    core = struct.pack("<IHHHH", 12, w, h, 1, 8)
    pal3 = b"".join(bytes(RNG.integers(0, 256, size=3).astype(np.uint8)) for _ in range(256))
    rows = pad_rows(indexed_rows(w, h, 8, 256), pitch(w, 8))
    off = 14 + 12 + len(pal3)
    c["core-pal8.bmp"] = file_header(off + len(rows), off) + core + pal3 + rows
    # RLE8: encoded runs, an absolute run, end of line, a delta, end of bitmap (rest = palette entry 0).
    rle8 = bytes([3, 5, 0, 4, 1, 2, 3, 4, 2, 9, 0, 0,   # row 0: 3x5, abs [1,2,3,4], 2x9, EOL
                  13, 7,                               # row 1: a full row (wraps by itself), no EOL
                  0, 0,                                # EOL right after a full row: ignored
                  0, 2, 3, 1,                          # delta: 3 right, 1 down (skipped = entry 0)
                  4, 200, 0, 0,                        # 4x200, EOL
                  0, 1])                               # end of bitmap
    c["rle8.bmp"] = bmp(w, h, 8, rle8, palette_bytes(256), compression=1)
    c["rle8-topdown.bmp"] = bmp(w, h, 8, rle8, palette_bytes(256), compression=1, top_down=True)
    c["rle8-overrun-refused.bmp"] = bmp(w, h, 8, bytes([20, 1, 0, 1]), palette_bytes(256), compression=1)
    c["rle8-truncated-refused.bmp"] = bmp(w, h, 8, bytes([3, 5, 0, 0, 2]), palette_bytes(256), compression=1)
    # RLE4: encoded (two alternating colours), absolute (odd count), EOL on every row.
    rle4 = b""
    for y in range(h):
        rle4 += bytes([5, 0x1F, 0, 5, 0x23, 0x45, 0x60, 0, 3, 0xAB, 0, 0])  # 5 + 5 + 3 = 13 pixels, EOL
    c["rle4.bmp"] = bmp(w, h, 4, rle4, palette_bytes(16), compression=2)
    # The absolute run without its padding byte: the stream goes out of step and a run overruns a line.
    unpadded = bytes([5, 0x1F, 0, 5, 0x23, 0x45, 0x60, 3, 0xAB, 0, 0]) * h
    c["rle4-unpadded-refused.bmp"] = bmp(w, h, 4, unpadded, palette_bytes(16), compression=2)
    c["rle4-short-rows.bmp"] = bmp(w, h, 4, bytes([4, 0x12, 0, 0]) * h, palette_bytes(16), compression=2)
    # Refused: 2 bits per pixel, RLE8 flag on a 4-bit image, a truncated 24-bit file, header size 20.
    c["bpp2-refused.bmp"] = bmp(w, h, 2, pad_rows(indexed_rows(w, h, 2, 4), pitch(w, 2)), palette_bytes(4))
    c["rle8-on-4bit-refused.bmp"] = bmp(w, h, 4, rle4, palette_bytes(16), compression=1)
    c["rgb24-truncated-refused.bmp"] = bmp(w, h, 24, pad_rows(px24, pitch(w, 24)))[:-10]
    bad = bytearray(bmp(w, h, 24, pad_rows(px24, pitch(w, 24))))
    bad[14:18] = struct.pack("<I", 20)
    c["header20-refused.bmp"] = bytes(bad)
    return c


def main():
    os.makedirs(OUT, exist_ok=True)
    records = []
    for name, data in cases().items():
        path = os.path.join(OUT, name)
        with open(path, "wb") as f:
            f.write(data)
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            records.append({"file": name, "refused": True})
        else:
            rgb = np.ascontiguousarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
            records.append({"file": name, "width": int(rgb.shape[1]), "height": int(rgb.shape[0]),
                            "sha256": hashlib.sha256(rgb.tobytes()).hexdigest()})
        print(name, "refused" if img is None else img.shape)
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump({"opencv": cv2.__version__, "cases": records}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
