"""Prometheus metrics in the text exposition format, without prometheus_client.

The serving image carries only what it needs; three instruments (a counter, a
histogram, an info gauge) fit in a page and a half, so the image does not take
a dependency for them. Output follows the text format 0.0.4: ``# HELP``,
``# TYPE``, escaped label values, cumulative ``_bucket{le=…}`` series with
``+Inf``, ``_sum`` and ``_count``.
"""

from __future__ import annotations

import math
import threading
from typing import Iterable, Mapping

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Request latency buckets (seconds): a model server answers in milliseconds to a second.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
#: Buckets for a classifier's score (probability of the positive class).
SCORE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: tuple[str, ...], values: tuple[str, ...], extra: Mapping[str, str] | None = None) -> str:
    pairs = list(zip(names, values)) + list((extra or {}).items())
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in pairs) + "}" if pairs else ""


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    number = float(value)
    return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)


class _Metric:
    kind = ""

    def __init__(self, name: str, help_text: str, labels: Iterable[str] = ()) -> None:
        self.name, self.help = name, help_text
        self.label_names = tuple(labels)
        self._lock = threading.Lock()

    def _key(self, labels: Mapping[str, str]) -> tuple[str, ...]:
        if set(labels) != set(self.label_names):
            raise ValueError(f"{self.name}: labels {sorted(labels)} != {sorted(self.label_names)}")
        return tuple(str(labels[n]) for n in self.label_names)

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]


class Counter(_Metric):
    kind = "counter"

    def __init__(self, name: str, help_text: str, labels: Iterable[str] = ()) -> None:
        super().__init__(name, help_text, labels)
        self._values: dict[tuple[str, ...], float] = {}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        return self._values.get(self._key(labels), 0.0)

    def render(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        return self.header() + [f"{self.name}{_labels(self.label_names, k)} {_number(v)}" for k, v in items]


class Gauge(Counter):
    kind = "gauge"

    def set(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = float(value)


class Histogram(_Metric):
    kind = "histogram"

    def __init__(self, name: str, help_text: str, buckets: Iterable[float], labels: Iterable[str] = ()) -> None:
        super().__init__(name, help_text, labels)
        self.buckets = tuple(sorted(float(b) for b in buckets))
        self._series: dict[tuple[str, ...], list[float]] = {}  # per-bucket counts (non-cumulative), sum, count

    def observe(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            series = self._series.setdefault(key, [0.0] * (len(self.buckets) + 2))
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    series[i] += 1
                    break
            series[-2] += value
            series[-1] += 1

    def count(self, **labels: str) -> float:
        series = self._series.get(self._key(labels))
        return series[-1] if series else 0.0

    def render(self) -> list[str]:
        lines = self.header()
        with self._lock:
            items = sorted((k, list(v)) for k, v in self._series.items())
        for key, series in items:
            cumulative = 0.0
            for i, bound in enumerate(self.buckets):
                cumulative += series[i]
                lines.append(f"{self.name}_bucket{_labels(self.label_names, key, {'le': _number(bound)})} "
                             f"{_number(cumulative)}")
            lines.append(f"{self.name}_bucket{_labels(self.label_names, key, {'le': '+Inf'})} {_number(series[-1])}")
            lines.append(f"{self.name}_sum{_labels(self.label_names, key)} {_number(series[-2])}")
            lines.append(f"{self.name}_count{_labels(self.label_names, key)} {_number(series[-1])}")
        return lines


class ServingMetrics:
    """The instruments the model server updates, and their exposition."""

    def __init__(self) -> None:
        self.requests = Counter("mlops_serving_requests_total", "HTTP requests by path, method and status code.",
                                ("path", "method", "status"))
        self.latency = Histogram("mlops_serving_request_duration_seconds", "Request latency by path.",
                                 LATENCY_BUCKETS, ("path",))
        self.predictions = Counter("mlops_serving_predictions_total", "Predictions served, by predicted label.",
                                   ("label",))
        self.scores = Histogram("mlops_serving_prediction_score", "Score (positive-class probability) served.",
                                SCORE_BUCKETS)
        self.info = Gauge("mlops_serving_model_info", "The model being served (value 1).", ("name", "version"))
        self.ready = Gauge("mlops_serving_model_ready", "1 once the model is loaded, else 0.")

    def render(self) -> str:
        blocks: list[str] = []
        for metric in (self.requests, self.latency, self.predictions, self.scores, self.info, self.ready):
            blocks.extend(metric.render())
        return "\n".join(blocks) + "\n"
