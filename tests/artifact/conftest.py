"""Fixtures of the artifact smoke test: the layer and the runtime's boto3 built once per session, and the
stand-in X-Ray daemon. Python 3.12 is tests/conftest.py's fixture (missing: fails under CI=true, skips
elsewhere)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kassa_dev.artifact import LAYER_REQUIREMENTS, build_layer, build_runtime
from tests.artifact.harness import XRayDaemon


@pytest.fixture(scope="session")
def artifact_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("artifact")


@pytest.fixture(scope="session")
def layer(python312: Path, artifact_dir: Path) -> Path:
    """The layer built from layers/core/requirements.txt alone."""
    return build_layer(python312, LAYER_REQUIREMENTS, artifact_dir / "layer")


@pytest.fixture(scope="session")
def runtime(python312: Path, artifact_dir: Path) -> Path:
    """boto3 as the Lambda runtime provides it."""
    return build_runtime(python312, artifact_dir / "runtime")


@pytest.fixture(scope="session")
def xray() -> Iterator[XRayDaemon]:
    daemon = XRayDaemon()
    yield daemon
    daemon.close()
