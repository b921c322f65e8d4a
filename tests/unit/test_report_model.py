from mlops_ci.metrics import diff_metrics
from mlops_ci.report import COMMENT_LIMIT, Report, Section, marker
from mlops_ci.report.sections import metrics_section


def big_diff(n):
    old = {"metrics.json": {f"metric_{i:05d}": float(i) for i in range(n)}}
    new = {"metrics.json": {f"metric_{i:05d}": float(i) + (i % 7) for i in range(n)}}
    return diff_metrics(old, new, base_label="main", head_label="pr")


def test_small_report_renders_everything_with_marker_first():
    report = Report(title="mlops-ci report", report_id="pr")
    report.add(metrics_section(big_diff(5)))
    report.add(Section(key="run", title="Pipeline run", body="| a |", summary="1 stage ran", order=80))
    body = report.render()
    assert body.startswith(marker("pr") + "\n## ")
    assert "**Metrics**" in body and "**Pipeline run**: 1 stage ran" in body
    assert body.index("### ") > body.index("**Metrics**")  # headline before sections


def test_five_thousand_metrics_fit_and_headline_stays_first():
    report = Report(title="mlops-ci report")
    report.add(metrics_section(big_diff(5000)))
    report.add(Section(key="run", title="Pipeline run", body="x" * 500, summary="ok", order=80))
    body = report.render()
    assert len(body) <= COMMENT_LIMIT
    assert body.startswith(marker("pr"))
    assert "metrics changed" in body.splitlines()[3]
    assert "… and " in body and "more" in body
    assert "x" * 500 in body  # later small sections still fit


def test_sections_without_shrink_degrade_to_a_pointer():
    report = Report(title="t")
    report.add(Section(key="a", title="Huge", body="y" * 100_000, summary="big", order=1))
    report.add(Section(key="b", title="Small", body="small body", summary="s", order=2))
    body = report.render(limit=5000)
    assert len(body) <= 5000
    assert "Details omitted" in body and "small body" in body


def test_status_is_the_worst_section():
    report = Report(title="t")
    report.add(Section(key="a", title="A", body="", status="pass"))
    assert report.status == "pass"
    report.add(Section(key="b", title="B", body="", status="warn"))
    assert report.status == "warn"
    report.add(Section(key="a", title="A", body="", status="fail"))  # replaces, keyed
    assert report.status == "fail" and len(report.sections) == 2


def test_marker_is_sanitised():
    assert marker("pr --> <script>") == "<!-- mlops-ci:report id=pr-script -->"
    assert marker("ci.yml/mlops-pr:main") == "<!-- mlops-ci:report id=ci.yml/mlops-pr:main -->"


def test_the_headline_follows_the_gate_and_each_line_says_its_own_status():
    report = Report(title="mlops-ci report")
    report.add(Section(key="gate", title="Gate", body="rules", summary="Gate passed", status="pass", order=10))
    report.add(Section(key="metrics", title="Metrics", body="t", summary="2 regressed", status="warn", order=20))
    report.add(Section(key="params", title="Parameters", body="t", summary="1 changed", status="info", order=30))
    body = report.render()
    assert "## ✅ mlops-ci report" in body  # the gate passed: a regression it allowed is not a warning
    assert "- ✅ **Gate**: Gate passed" in body and "- ⚠️ **Metrics**: 2 regressed" in body
    assert "- **Parameters**: 1 changed" in body  # no icon for plain information
    report.add(Section(key="drift", title="Drift", body="t", summary="contract error", status="fail", order=40))
    assert report.render().startswith(marker("pr") + "\n## ❌ ")  # another section failed outright
    without_gate = Report(title="r", sections=[s for s in report.sections if s.key in ("metrics", "params")])
    assert without_gate.status == "warn"


def test_a_noisy_timing_alone_does_not_turn_the_headline_into_a_warning():
    from mlops_ci.metrics import diff_metrics
    from mlops_ci.report.sections import metrics_section

    slower = diff_metrics({"m.json": {"auc": 0.85, "latency_p95_ms": 1.1}},
                          {"m.json": {"auc": 0.85, "latency_p95_ms": 1.6}}, base_label="main", head_label="pr")
    assert metrics_section(slower).status == "pass"
    worse = diff_metrics({"m.json": {"auc": 0.85, "latency_p95_ms": 1.1}},
                         {"m.json": {"auc": 0.80, "latency_p95_ms": 1.6}}, base_label="main", head_label="pr")
    assert metrics_section(worse).status == "warn"


def test_the_summary_variant_uses_summary_bodies_and_drops_empty_ones():
    report = Report(title="mlops-ci report")
    report.add(Section(key="run", title="Run", body="| stage table |", summary="3 ran", order=80,
                       summary_body="Stages: in the DVC pipeline part above."))
    report.add(Section(key="cost", title="Cost", body="| cost table |", summary="≈ 1 USD", order=85, summary_body=""))
    comment, summary = report.render(), report.render(summary=True)
    assert "| stage table |" in comment and "| cost table |" in comment and "**Cost**" in comment
    assert "| stage table |" not in summary and "Stages: in the DVC pipeline part above." in summary
    assert "Cost" not in summary  # neither the section nor its headline line
