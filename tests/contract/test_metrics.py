"""The metric contract: what the alarms and the dashboard name is what the code emits, and the other way round.

kassa_dev.metric_contract reads both sides; these tests run it on the real template and code, show each of
its rules failing on a planted mistake, and check at run time that the code's metrics really carry the
namespace and the one ``service`` dimension the contract assumes.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

# Imported before any test captures stdout: the process's logger binds its handler to the stdout of its
# first import, and a capture's stream is closed when that test ends.
import kassa.observability  # noqa: F401
from kassa.domain.model import Action
from kassa_dev import metric_contract as contract
from kassa_dev.template import TEMPLATE_PATH, load_template
from tests.conftest import Api
from tests.integration.test_observability import log_lines

REAL_TEXT = TEMPLATE_PATH.read_text(encoding="utf-8")


def test_the_real_template_and_code_keep_the_contract() -> None:
    assert contract.check() == []
    assert contract.main([]) == 0


def test_code_side_reads_every_metric_the_code_emits() -> None:
    emitted = contract.code_metrics()
    for name in ("MovementsApplied", "MovementsRejected", "MovementsReplayed", "MovementsGivenUp"):
        assert name in emitted
    assert {"LedgerDiscrepancies", "ReconciliationRuns", "WalletsOpened"} <= set(emitted)
    # The one computed name, Movements_<action>, expands over every action.
    assert {f"Movements_{action.value}" for action in Action} <= set(emitted)
    assert emitted["LedgerDiscrepancies"].startswith("layers/core/kassa/reconcile/")


def test_template_side_reads_alarms_and_every_dashboard_widget() -> None:
    refs = contract.template_metrics(load_template())
    alarms = {ref.name for ref in refs if ref.where.startswith("alarm")}
    assert {"LedgerDiscrepancies", "MovementsGivenUp", "5xx", "Duration", "IteratorAge"} <= alarms
    assert {"ApproximateNumberOfMessagesVisible", "TargetErrorCount", "DeadLetterErrors"} <= alarms
    dashboard = {ref.name for ref in refs if ref.where.startswith("dashboard")}
    assert {"TransactionConflict", "ConsumedWriteCapacityUnits", "ConcurrentExecutions", "Latency"} <= dashboard


_ITERATOR_AGE_ALARM = (
    "      AlarmActions: {actions}\n      OKActions: [!Ref AlarmTopic]\n      TreatMissingData: notBreaching\n"
    "      Namespace: AWS/Lambda\n      MetricName: IteratorAge"
)

# Each planted mistake and the problem the check must report for it.
PLANTED = {
    "alarm names a misspelt Kassa metric": (
        "MetricName: LedgerDiscrepancies",
        "MetricName: LedgerDiscrepancy",
        "LedgerDiscrepancy is not emitted by the code",
    ),
    "dashboard names a misspelt Kassa metric": (
        '["Kassa", "MovementsReplayed"',
        '["Kassa", "MovementReplayed"',
        "MovementReplayed is not emitted by the code",
    ),
    "an emitted metric is missing from the dashboard": (
        '   ["Kassa", "WalletsOpened", "service", "${AWS::StackName}"]\n',
        "",
        "WalletsOpened is emitted but not on the dashboard",
    ),
    "a Kassa metric under another dimension": (
        '["Kassa", "MovementsApplied", "service", "${AWS::StackName}"]',
        '["Kassa", "MovementsApplied", "service", "kassa"]',
        "MovementsApplied dimensions",
    ),
    "an AWS metric that does not exist": (
        "MetricName: IteratorAge",
        "MetricName: IteratorAgeMilliseconds",
        "AWS/Lambda publishes no metric 'IteratorAgeMilliseconds'",
    ),
    "an AWS metric on a resource that is not this template's": (
        '"FunctionName", "${ReconciliationFunction}"]',
        '"FunctionName", "${ReconcilationFunction}"]',
        "FunctionName ${ReconcilationFunction} does not name a AWS::Serverless::Function",
    ),
    "an alarm that notifies nobody": (
        _ITERATOR_AGE_ALARM.format(actions="[!Ref AlarmTopic]"),
        _ITERATOR_AGE_ALARM.format(actions="[]"),
        "alarm StreamIteratorAgeAlarm: AlarmActions is not [!Ref AlarmTopic]",
    ),
    "an alarm pointing at a runbook section that does not exist": (
        "docs/RUNBOOK.md#streamiteratorage",
        "docs/RUNBOOK.md#stream-lag",
        "docs/RUNBOOK.md has no section #stream-lag",
    ),
}


@pytest.mark.parametrize("name", list(PLANTED))
def test_each_rule_fails_on_a_planted_mistake(name: str, tmp_path: Path) -> None:
    old, new, expected = PLANTED[name]
    assert REAL_TEXT.count(old) >= 1, f"the plant {old!r} no longer matches template.yaml"
    planted = tmp_path / "template.yaml"
    planted.write_text(REAL_TEXT.replace(old, new, 1), encoding="utf-8")
    found = contract.check(planted)
    assert any(expected in problem for problem in found), found
    assert contract.main([str(planted)]) == 1


def test_a_metric_the_code_starts_emitting_must_join_the_dashboard() -> None:
    emitted = {**contract.code_metrics(), "BonusesGranted": "layers/core/kassa/bonus.py:7"}
    found = contract.problems(load_template(), emitted, contract.RUNBOOK.read_text(encoding="utf-8"))
    assert found == ["layers/core/kassa/bonus.py:7: BonusesGranted is emitted but not on the dashboard"]


@pytest.mark.parametrize(
    "code",
    [
        "metrics.add_metric(name=some_name, unit='Count', value=1)",
        "metrics.add_metric(name=f'Wallet_{wallet.status}', unit='Count', value=1)",
        "metrics.add_dimension(name='operator', value=operator_id)",
    ],
)
def test_metrics_the_check_cannot_read_are_refused(code: str, tmp_path: Path) -> None:
    (tmp_path / "module.py").write_text(code + "\n", encoding="utf-8")
    ast.parse(code)
    with pytest.raises(ValueError, match=r"module\.py:1"):
        contract.code_metrics((tmp_path,))


def test_emitted_metrics_carry_the_namespace_and_the_one_service_dimension(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the contract assumes of Powertools, seen in the EMF the real handlers print."""
    capsys.readouterr()
    player = api.open_wallet()
    api.move(player, "deposit", "5")
    emf = [line["_aws"]["CloudWatchMetrics"][0] for line in log_lines(capsys.readouterr().out) if "_aws" in line]
    names = {metric["Name"] for block in emf for metric in block["Metrics"]}
    assert {"WalletsOpened", "MovementsApplied", "Movements_deposit"} <= names
    variables = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    for block in emf:
        assert block["Namespace"] == variables["POWERTOOLS_METRICS_NAMESPACE"]
        assert block["Dimensions"] == [["service"]]
    assert json.dumps(variables["POWERTOOLS_SERVICE_NAME"]) == json.dumps({"Ref": "AWS::StackName"})
