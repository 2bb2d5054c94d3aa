"""/metrics' text (pipeline/serving/metrics.py) in Prometheus' exposition format 0.0.4: families with HELP and TYPE,
counters by label, cumulative histogram buckets ending at +Inf with _sum and _count, escaped label values."""

from __future__ import annotations

import re

from pipeline.serving.metrics import Counter, Histogram, ServiceMetrics

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? (\S+)$')


def samples(text: str) -> dict[str, float]:
    found = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert re.match(r"^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* \S", line), line
            continue
        assert SAMPLE.match(line), line
        name, value = line.rsplit(" ", 1)
        found[name] = float(value)
    return found


def test_counters_and_histograms_render_in_the_text_format():
    requests = Counter("demo_requests_total", "Requests.", ("route", "status"))
    requests.inc("/v1/decisions", "200")
    requests.inc("/v1/decisions", "200")
    requests.inc('/odd"\\path\n', "401")
    latency = Histogram("demo_seconds", "Latency.", (0.01, 0.1, 1.0), ("route",))
    for value in (0.005, 0.05, 0.05, 5.0):
        latency.observe(value, "/v1/decisions")
    text = "\n".join([*requests.render(), *latency.render()]) + "\n"
    found = samples(text)
    assert "# TYPE demo_requests_total counter" in text and "# TYPE demo_seconds histogram" in text
    assert found['demo_requests_total{route="/v1/decisions",status="200"}'] == 2
    assert found['demo_requests_total{route="/odd\\"\\\\path\\n",status="401"}'] == 1
    assert [found[f'demo_seconds_bucket{{route="/v1/decisions",le="{le}"}}'] for le in ("0.01", "0.1", "1", "+Inf")] \
        == [1, 3, 3, 4]
    assert found['demo_seconds_count{route="/v1/decisions"}'] == 4
    assert abs(found['demo_seconds_sum{route="/v1/decisions"}'] - 5.105) < 1e-9


def test_the_service_families_render_before_anything_happened():
    text = ServiceMetrics().render()
    samples(text)
    for family in ("glassbox_http_requests_total", "glassbox_http_request_duration_seconds",
                   "glassbox_decisions_total", "glassbox_engine_calls_total", "glassbox_batch_items"):
        assert f"# TYPE {family} " in text
