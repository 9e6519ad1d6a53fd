"""Reading the course's SVG figures in tests: parse them, and find their texts, shapes and descriptions."""

from __future__ import annotations

import base64
import io
import xml.etree.ElementTree as ET

import numpy as np
from PIL import Image

SVG = "{http://www.w3.org/2000/svg}"


MATRIX = [[0.1, 0.7, 0.2], [0.5, 0.3, 0.9]]  # 2 x 3, so that a transposed picture would show


ENCODINGS = [[1.0, 0.0], [0.6, 0.8], [0.0, 1.0], [-0.6, 0.8]]  # 4 positions x 2 dimensions


def svgs(markup: str) -> list[ET.Element]:
    """Every ``<svg>`` in ``markup`` (one figure, or a ``row`` of them), parsed as XML."""
    root = ET.fromstring(markup)
    return [root] if root.tag == f"{SVG}svg" else list(root.iter(f"{SVG}svg"))


def parse(markup: str) -> ET.Element:
    (svg,) = svgs(markup)
    return svg


def texts(svg: ET.Element) -> list[str]:
    return [node.text or "" for node in svg.iter(f"{SVG}text")]


def rects(svg: ET.Element, fill: str) -> list[dict[str, float]]:
    """The ``<rect>``s filled with ``fill``, in drawing order, their coordinates as numbers."""
    return [
        {key: float(node.get(key)) for key in ("x", "y", "width", "height")}
        for node in svg.iter(f"{SVG}rect")
        if node.get("fill") == fill
    ]


def points(polyline: ET.Element) -> np.ndarray:
    return np.array([[float(v) for v in pair.split(",")] for pair in polyline.get("points").split()])


def assert_proportional(lengths, values):
    """Bar lengths in pixels are one scale times the values, up to the 0.1 px coordinates are rounded to."""
    lengths, values = np.asarray(lengths, dtype=float), np.abs(np.asarray(values, dtype=float))
    scale = lengths.sum() / values.sum()
    assert scale > 0
    assert np.allclose(lengths, scale * values, atol=0.15), (lengths, values)


def description(svg: ET.Element) -> str:
    return svg.get("aria-label")


def cells_picture(svg: ET.Element) -> tuple[ET.Element, Image.Image]:
    """A heatmap's ``<image>`` element and the PNG its data URL holds."""
    (image,) = svg.iter(f"{SVG}image")
    header, data = image.get("href").split(",", 1)
    assert header == "data:image/png;base64"
    return image, Image.open(io.BytesIO(base64.b64decode(data))).convert("RGBA")
