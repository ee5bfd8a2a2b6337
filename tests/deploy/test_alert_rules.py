"""The alert rules, evaluated: `promtool test rules` (Debian's prometheus package) over the groups of
k8s/monitoring/prometheusrule.yaml with the cases in alert_cases.yaml. Every alert has a case, and the cases'
eastwest series carry the names and labels the code exports."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.test_monitoring import MONITORING, TARGET_LABELS, alert_rules, exported_metrics

PROMTOOL = shutil.which("promtool")
CASES: list[dict[str, Any]] = yaml.safe_load((Path(__file__).parent / "alert_cases.yaml").read_text("utf-8"))
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is not installed (apt-get install -y prometheus)"
)


def rules_without_prose(folder: Path) -> Path:
    document = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text(encoding="utf-8"))
    groups = document["spec"]["groups"]
    for group in groups:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    path = folder / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": groups}, allow_unicode=True), encoding="utf-8")
    return path


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=120, check=False)


@needs_promtool
def test_the_rules_load(tmp_path: Path) -> None:
    checked = promtool("check", "rules", str(rules_without_prose(tmp_path)))
    assert checked.returncode == 0, checked.stdout + checked.stderr


@needs_promtool
def test_each_alert_fires_on_its_series_and_stays_quiet_otherwise(tmp_path: Path) -> None:
    rules = rules_without_prose(tmp_path)
    suite = tmp_path / "alerts-test.yaml"
    suite.write_text(
        yaml.safe_dump({"rule_files": [str(rules)], "evaluation_interval": "1m", "tests": CASES})
    )
    tested = promtool("test", "rules", str(suite))
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_alert_has_a_case() -> None:
    cased = {test["alertname"] for case in CASES for test in case["alert_rule_test"]}
    assert cased == {rule["alert"] for rule in alert_rules()}


def test_the_cases_use_what_the_code_exports() -> None:
    metrics = exported_metrics()
    for case in CASES:
        for item in case["input_series"]:
            name, labels = re.fullmatch(r"(\w+)\{(.*)\}", item["series"]).groups()  # type: ignore[union-attr]
            if not name.startswith("ew_"):
                continue
            assert name in metrics, name
            used = set(re.findall(r"(\w+)=", labels))
            assert used <= metrics[name] | TARGET_LABELS, (name, used - metrics[name])
