"""evaluate: holdout accuracy and loss (metrics.json) and a confusion matrix (eval/confusion.csv)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import yaml
from torch import nn

from generate import CLASSES
from model import ShapesNet, pick_device, to_tensor


def main() -> None:
    p = yaml.safe_load(Path("params.yaml").read_text())["train"]
    device = pick_device()
    data = np.load("data/shapes.npz")
    x, y = to_tensor(data["x_holdout"], device), torch.as_tensor(data["y_holdout"], device=device)
    model = ShapesNet(p["channels"], size=x.shape[-1]).to(device)
    model.load_state_dict(torch.load("models/model.pt", map_location=device, weights_only=True))
    model.eval()
    with torch.no_grad():
        logits = model(x)
        loss = float(nn.CrossEntropyLoss()(logits, y))
        predicted = logits.argmax(dim=1)
    accuracy = float((predicted == y).float().mean())
    Path("metrics.json").write_text(json.dumps({"accuracy": round(accuracy, 4), "loss": round(loss, 4),
                                                "holdout_rows": len(y)}, indent=2) + "\n")
    Path("eval").mkdir(exist_ok=True)
    rows = [f"{CLASSES[a]},{CLASSES[b]}" for a, b in zip(y.tolist(), predicted.tolist())]
    Path("eval/confusion.csv").write_text("actual,predicted\n" + "\n".join(rows) + "\n")
    print(f"evaluate: accuracy {accuracy:.4f}, loss {loss:.4f} on {len(y)} holdout images ({device.type})")


if __name__ == "__main__":
    main()
