"""report.html: one self-contained page a reviewer can open anywhere, with no network and no scripts.

CSS is inline and every image is a base64 data URI, so the file can be mailed, archived with the artifact
and opened years later; it refers to nothing outside itself.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any, Mapping, Sequence

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from components.files import write_atomically
from components.model_audit.audit import FAMILIES

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATUS_ORDER = {"fail": 0, "inconclusive": 1, "pass": 2, "not_applicable": 3}
SYMBOLS = {">=": "≥", "<=": "≤"}


def _number(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and abs(value) < 1000:
        return format(value, ".3g")
    return str(value)


def _rounded(value: Any) -> Any:
    """Figures to 4 significant digits, for reading: audit.json keeps them whole."""
    if isinstance(value, float):
        return float(format(value, ".4g"))
    if isinstance(value, Mapping):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def attention_order(checks: Sequence[Mapping]) -> list[Mapping]:
    """Failed checks first, then inconclusive, passed and not applicable; block before warn within each."""
    return sorted(checks, key=lambda c: (STATUS_ORDER[c["status"]], c["severity"] != "block"))


def _environment(*templates: Path) -> Environment:
    """Jinja with the report filters; `templates` are searched first, then the audit's (for its shared parts)."""
    environment = Environment(loader=FileSystemLoader([*templates, TEMPLATES]), autoescape=True,
                              undefined=StrictUndefined)
    environment.filters.update(number=_number, data_uri=_data_uri, symbol=lambda c: SYMBOLS.get(c, ""),
                               pretty=lambda value: json.dumps(_rounded(value), indent=1, sort_keys=True))
    return environment


def render_html(report: Mapping, fairness_charts: Mapping[str, bytes], importance_png: bytes | None = None,
                title: str = "Model audit", figures: Mapping[str, bytes] | None = None,
                surrogate_png: bytes | None = None, table: Mapping | None = None) -> str:
    """The page for an audit.json report, with the fairness charts per attribute, the Explainer's global
    importance plot, its other figures by title (PNG bytes; an image model's attribution overlays, a tabular
    model's partial dependence curves), the challenger check's surrogate tree, and an interpretable model's table
    (a scorecard's points, a rule list's rules)."""
    checks = attention_order(report["checks"])
    # Every family the template may show, empty when the policy neither lists nor excuses it.
    by_family: dict[str, list[Mapping]] = {family.FAMILY: [] for family in FAMILIES}
    for check in checks:
        by_family.setdefault(check["family"], []).append(check)
    return _environment().get_template("report.html.j2").render(
        title=title, report=report, checks=checks, by_family=by_family,
        attention=[c for c in checks if c["status"] in ("fail", "inconclusive")],
        fairness_charts=fairness_charts, importance_png=importance_png, figures=figures or {},
        surrogate_png=surrogate_png, table=table,
    )


def render_page(template: Path, **context: Any) -> str:
    """Another page in the audit's style: `template` may include `_style.html.j2` and import `_checks.html.j2`."""
    return _environment(template.parent).get_template(template.name).render(**context)


def write_report_html(path: str, html: str) -> None:
    write_atomically(path, html.encode("utf-8"))
