"""train: fit ShapesNet with Adam; write models/model.pt and models/train.json (device, timings)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
import yaml
from torch import nn

from model import ShapesNet, describe, pick_device, to_tensor


def main() -> None:
    p = yaml.safe_load(Path("params.yaml").read_text())["train"]
    torch.manual_seed(p["seed"])
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    device = pick_device()

    data = np.load("data/shapes.npz")
    x, y = to_tensor(data["x_train"], device), torch.as_tensor(data["y_train"], device=device)
    model = ShapesNet(p["channels"], size=x.shape[-1]).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=p["lr"])
    loss_fn = nn.CrossEntropyLoss()
    order = torch.Generator().manual_seed(p["seed"])

    started = time.perf_counter()
    losses = []
    for _ in range(p["epochs"]):
        model.train()
        total = 0.0
        for batch in torch.randperm(len(x), generator=order).split(p["batch_size"]):
            batch = batch.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        losses.append(round(total / len(x), 5))
        print(f"train: epoch {len(losses)}/{p['epochs']} loss {losses[-1]} ({time.perf_counter() - started:.1f} s)",
              flush=True)  # a live log shows progress, not silence
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started

    Path("models").mkdir(exist_ok=True)
    torch.save(model.state_dict(), "models/model.pt")
    meta = {**describe(device), "epochs": p["epochs"], "train_rows": len(x), "train_seconds": round(seconds, 3),
            "epoch_loss": losses}
    Path("models/train.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"train: {p['epochs']} epochs on {meta['device_name']} ({device.type}) in {seconds:.1f} s, "
          f"final loss {losses[-1]}")


if __name__ == "__main__":
    main()
