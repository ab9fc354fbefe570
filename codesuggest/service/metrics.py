"""Prometheus metrics, one registry per app (so several apps, e.g. in tests, do not collide)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "codesuggest_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "codesuggest_http_request_duration_seconds", "HTTP request latency", ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.notes = Counter("codesuggest_notes_submitted_total", "notes submitted", ["model_version"], registry=self.registry)
        self.suggestions = Counter(
            "codesuggest_suggestions_served_total", "suggestions returned", ["system", "model_version"], registry=self.registry
        )
        self.suggest_latency = Histogram(
            "codesuggest_suggest_duration_seconds", "time in the model's suggest()", ["model_version"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), registry=self.registry,
        )
        self.decisions = Counter("codesuggest_decisions_total", "coder decisions", ["action"], registry=self.registry)
        self.model = Gauge("codesuggest_model_serving", "1 for the model version being served", ["version"], registry=self.registry)

    def serving(self, version: str, previous: str | None = None) -> None:
        if previous is not None and previous != version:
            try:
                self.model.remove(previous)
            except KeyError:
                pass
        self.model.labels(version=version).set(1)
