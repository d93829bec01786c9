"""Read a QR code back from the SVG segno drew on a page (no image libraries needed)."""

import re

import numpy as np
import zxingcpp


def read_svg_qr(svg: str) -> str:
    width = int(re.search(r'<svg[^>]* width="(\d+)"', svg).group(1))
    scale = int(re.search(r'transform="scale\((\d+)\)"', svg).group(1))
    path = re.search(r' d="([^"]+)"', svg).group(1)
    modules = width // scale
    grid = np.full((modules, modules), 255, dtype=np.uint8)
    x = y = 0.0
    tokens = re.findall(r"[MmHhVvZz]|-?\d+(?:\.\d+)?", path)
    i = 0
    while i < len(tokens):
        cmd = tokens[i]
        if cmd == "M":
            x, y = float(tokens[i + 1]), float(tokens[i + 2])
            i += 3
        elif cmd == "m":
            x, y = x + float(tokens[i + 1]), y + float(tokens[i + 2])
            i += 3
        elif cmd == "h":
            length = float(tokens[i + 1])
            grid[int(y - 0.5), int(x):int(x + length)] = 0
            x += length
            i += 2
        else:
            raise AssertionError(f"unexpected path command {cmd!r}")
    image = np.kron(grid, np.ones((6, 6), dtype=np.uint8))
    found = zxingcpp.read_barcodes(image)
    assert found, "no QR code could be read from the SVG"
    return found[0].text
