"""Fixtures of the build tests: the Python 3.12 that sam build needs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kassa_dev.python312 import MISSING, find_python312


@pytest.fixture(scope="session")
def python312() -> Path:
    """Missing, the build tests fail in CI (CI=true), where make build must work, and skip elsewhere."""
    found = find_python312()
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(MISSING, pytrace=False)
        pytest.skip(MISSING)
    return found
