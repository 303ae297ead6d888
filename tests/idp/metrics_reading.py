"""Reading `/metrics` as Prometheus does: the text format parsed by prometheus-client's own
parser, samples looked up by name and labels. Shared by the metrics tests."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

TOKEN = "metrics-token-for-the-tests"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape, by (name, labels)."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(scraped: dict[Any, float], name: str, **labels: str) -> float:
    """A sample's value; 0 for a labelled counter nothing has counted yet."""
    return scraped.get((name, frozenset(labels.items())), 0.0)


def scrape(client: Any) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics", headers=BEARER)
    assert response.status_code == 200, response.text
    return samples(response.text)
