"""The check table glassbox prints after an audit or a monitoring run."""

from pipeline.cli.output import print_checks

CHECKS = [
    {"status": "not_applicable", "severity": "block", "id": "overall_auc", "measured": None, "threshold": 0.7,
     "comparison": None, "reason": "the span has no labels"},
    {"status": "fail", "severity": "warn", "id": "numeric_drift", "measured": 0.31, "threshold": 0.15,
     "comparison": "<=", "reason": None},
]


def test_a_check_that_does_not_apply_says_why_instead_of_a_bound(capsys):
    print_checks(CHECKS, thresholds=True)
    not_applicable, failed = capsys.readouterr().out.splitlines()
    assert not_applicable.split() == ["not_applicable", "block", "overall_auc", "-", "the", "span", "has", "no",
                                      "labels"]
    assert failed.split() == ["fail", "warn", "numeric_drift", "0.31", "<=", "0.15"]


def test_without_thresholds_each_line_ends_with_the_measured_figure(capsys):
    print_checks(CHECKS)
    assert [line.split()[-1] for line in capsys.readouterr().out.splitlines()] == ["-", "0.31"]
