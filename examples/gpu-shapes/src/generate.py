"""generate: a small, deterministic image data set — noisy 16×16 drawings of four shapes.

Nothing is downloaded: the same ``generate`` params always give the same bytes,
so DVC's run-cache and the tests can rely on it. Classes: 0 circle, 1 square,
2 triangle, 3 cross, each at a random position and size, with pixel noise.
Writes ``data/shapes.npz`` with ``x_train, y_train, x_holdout, y_holdout``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

CLASSES = ("circle", "square", "triangle", "cross")


def draw(kind: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """One shape as a float image in [0, 1]."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    radius = rng.uniform(size * 0.2, size * 0.38)
    cy, cx = rng.uniform(radius, size - radius, 2)
    if kind == 0:
        mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= radius ** 2
    elif kind == 1:
        mask = (np.abs(yy - cy) <= radius * 0.8) & (np.abs(xx - cx) <= radius * 0.8)
    elif kind == 2:
        top = cy - radius
        mask = (yy >= top) & (yy <= cy + radius) & (np.abs(xx - cx) <= (yy - top) / 2)
    else:
        width = max(1.0, radius * 0.3)
        mask = ((np.abs(yy - cy) <= width) | (np.abs(xx - cx) <= width)) & \
               (np.abs(yy - cy) <= radius) & (np.abs(xx - cx) <= radius)
    return mask.astype(np.float32)


def generate(rows: int, size: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(CLASSES), rows)
    images = np.stack([draw(int(k), size, rng) for k in labels])
    images = np.clip(images + rng.normal(0, noise, images.shape), 0, 1)
    return (images * 255).astype(np.uint8), labels.astype(np.int64)


def main() -> None:
    p = yaml.safe_load(Path("params.yaml").read_text())["generate"]
    x, y = generate(p["rows"], p["size"], p["noise"], p["seed"])
    cut = int(len(x) * (1 - p["holdout"]))
    Path("data").mkdir(exist_ok=True)
    np.savez_compressed("data/shapes.npz", x_train=x[:cut], y_train=y[:cut], x_holdout=x[cut:], y_holdout=y[cut:])
    print(f"generate: {cut} training and {len(x) - cut} holdout images of {p['size']}x{p['size']}")


if __name__ == "__main__":
    main()
