"""An independent scanner agrees: checkov (pinned, in its own tool environment) finds no failed check in
template.yaml, every skip is justified on its resource, and the scan fails when a protection is removed."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from kassa_dev.template import REPO_ROOT, TEMPLATE_PATH, load_template

pytestmark = pytest.mark.slow


def lint_checkov(template: Path) -> subprocess.CompletedProcess[str]:
    """`make lint-checkov` on one template (it makes the tool environment on first use)."""
    return subprocess.run(
        ["make", "--no-print-directory", "lint-checkov", f"CHECKOV_TEMPLATE={template}"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def counts(output: str) -> tuple[int, int, int]:
    found = re.search(r"Passed checks: (\d+), Failed checks: (\d+), Skipped checks: (\d+)", output)
    assert found, output
    passed, failed, skipped = (int(n) for n in found.groups())
    return passed, failed, skipped


def test_the_template_passes_every_checkov_check(python312: Path) -> None:
    scan = lint_checkov(TEMPLATE_PATH)
    assert scan.returncode == 0, scan.stdout + scan.stderr
    passed, failed, skipped = counts(scan.stdout)
    assert failed == 0 and passed >= 70
    skips = [
        skip
        for resource in load_template()["Resources"].values()
        for skip in (((resource.get("Metadata") or {}).get("checkov") or {}).get("skip") or [])
    ]
    assert skipped == len(skips)  # every skip in the template is used, none is global
    for skip in skips:
        assert re.fullmatch(r"CKV_AWS_\d+", skip["id"]) and len(skip["comment"]) > 30, skip


PLANTED = {
    "a queue without Kassa's key": (
        "      KmsMasterKeyId: !If [CreateKmsKey, !GetAtt KassaKey.Arn, !Ref KmsKeyArn]\n      Message",
        "      Message",
    ),
    "a function whose skip is removed": (
        "          - id: CKV_AWS_117\n            comment: Talks only to DynamoDB, S3",
        "          - id: CKV_AWS_999\n            comment: Talks only to DynamoDB, S3",
    ),
    "a key without rotation": ("      EnableKeyRotation: true", "      EnableKeyRotation: false"),
}


@pytest.mark.parametrize("name", list(PLANTED))
def test_the_scan_fails_when_a_protection_is_removed(name: str, python312: Path, tmp_path: Path) -> None:
    old, new = PLANTED[name]
    text = TEMPLATE_PATH.read_text(encoding="utf-8")
    assert old in text, f"the plant for {name!r} no longer matches template.yaml"
    planted = tmp_path / "template.yaml"
    planted.write_text(text.replace(old, new, 1), encoding="utf-8")
    scan = lint_checkov(planted)
    assert scan.returncode != 0
    assert counts(scan.stdout)[1] >= 1


def test_a_template_checkov_cannot_parse_fails(python312: Path, tmp_path: Path) -> None:
    broken = tmp_path / "template.yaml"
    broken.write_text("Resources:\n  Table:\n    Type: AWS::DynamoDB::Table\n    Properties: [\n", encoding="utf-8")
    assert lint_checkov(broken).returncode != 0
