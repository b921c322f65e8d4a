"""The model and where it runs: a small CNN, on the GPU when there is one, else on the CPU.

The device is chosen once, here, and recorded by the training stage, so a GPU job
that silently fell back to the CPU is visible in models/train.json (and the
runner doctor should have stopped it earlier).
"""

from __future__ import annotations

import torch
from torch import nn


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def describe(device: torch.device) -> dict[str, object]:
    """What the training ran on, for models/train.json."""
    info: dict[str, object] = {"device": device.type, "torch": torch.__version__, "cuda": torch.version.cuda}
    if device.type == "cuda":
        info["device_name"] = torch.cuda.get_device_name(device)
        info["device_count"] = torch.cuda.device_count()
    else:
        info["device_name"] = "cpu"
        info["threads"] = torch.get_num_threads()
    return info


class ShapesNet(nn.Module):
    def __init__(self, channels: int = 16, classes: int = 4, size: int = 16) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(channels, channels * 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(channels * 2 * (size // 4) ** 2, 64), nn.ReLU(),
                                  nn.Linear(64, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def to_tensor(images, device: torch.device) -> torch.Tensor:  # noqa: ANN001 - a uint8 numpy array
    """uint8 N×H×W → float N×1×H×W in [0, 1] on ``device``."""
    return torch.as_tensor(images, dtype=torch.float32, device=device).unsqueeze(1) / 255.0
