"""A small but real training pipeline: fit a linear model by gradient descent.

Two learning rates are trained in parallel branches, each is evaluated on held-out
data, and the better model is reported. Plain Python only, so it runs anywhere::

    zen pipeline run docs/examples/quickstart.py:training -p epochs=300
"""

from __future__ import annotations

import logging
import random
from typing import Annotated

from zen_core import collect, pipeline, step

log = logging.getLogger(__name__)

Dataset = list[tuple[float, float]]


@step
def make_data(n: int = 400, seed: int = 7) -> Dataset:
    """Noisy samples of y = 3x + 2."""
    rng = random.Random(seed)
    xs = [rng.uniform(-1, 1) for _ in range(n)]
    return [(x, 3 * x + 2 + rng.gauss(0, 0.1)) for x in xs]


@step
def split(
    data: Dataset, test_fraction: float = 0.25
) -> tuple[Annotated[Dataset, "train"], Annotated[Dataset, "test"]]:
    cut = int(len(data) * (1 - test_fraction))
    return data[:cut], data[cut:]


@step(retries=1)
def train(data: Dataset, lr: float, epochs: int) -> dict[str, float]:
    w = b = 0.0
    for epoch in range(epochs):
        gw = sum((w * x + b - y) * x for x, y in data) * 2 / len(data)
        gb = sum((w * x + b - y) for x, y in data) * 2 / len(data)
        w, b = w - lr * gw, b - lr * gb
        if epoch % 100 == 0:
            log.info("lr=%s epoch %d: w=%.3f b=%.3f", lr, epoch, w, b)
    return {"w": w, "b": b, "lr": lr}


@step
def evaluate(model: dict[str, float], data: Dataset) -> dict[str, float]:
    mse = sum((model["w"] * x + model["b"] - y) ** 2 for x, y in data) / len(data)
    return {**model, "mse": mse}


@step
def pick_best(scores: list[dict[str, float]]) -> dict[str, float]:
    best = min(scores, key=lambda s: s["mse"])
    print(f"best model: w={best['w']:.3f} b={best['b']:.3f} (lr={best['lr']}, mse={best['mse']:.4f})")
    return best


@pipeline
def training(epochs: int = 200):
    train_set, test_set = split(make_data())
    scores = [evaluate(train(train_set, lr=lr, epochs=epochs), test_set) for lr in (0.05, 0.3)]
    pick_best(collect(scores))


if __name__ == "__main__":
    training()
