"""The smoke test can fail: the same run on a layer built without Powertools' tracer extra (what the
layer shipped before issue 9) fails every invocation of every function with ModuleNotFoundError:
aws_xray_sdk, as the deployed artifact did."""

from __future__ import annotations

from pathlib import Path

from kassa_dev import layer_requirements, template
from kassa_dev.artifact import build_layer
from kassa_dev.stack import LocalStack
from tests.artifact.harness import XRayDaemon, run_artifact, without_the_tracer_extra


def test_without_the_tracer_extra_every_invocation_fails_on_aws_xray_sdk(
    stack: LocalStack, python312: Path, runtime: Path, xray: XRayDaemon, artifact_dir: Path
) -> None:
    requirements = layer_requirements.requirements(without_the_tracer_extra())
    assert "aws-xray-sdk" not in requirements and "[tracer]" not in requirements, requirements
    requirements_file = artifact_dir / "requirements-without-tracer.txt"
    requirements_file.write_text(requirements)
    layer = build_layer(python312, requirements_file, artifact_dir / "layer-without-tracer")

    run = run_artifact(stack, python312, layer, runtime, xray, artifact_dir / "without-tracer")

    assert {invocation.function_id for invocation in run.invocations} == set(template.functions())
    errors = [invocation.reply.get("error") or {} for invocation in run.invocations]
    assert all(error.get("errorType") == "ModuleNotFoundError" for error in errors), errors
    assert {error["name"] for error in errors} == {"aws_xray_sdk"}, errors
