from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def health_plugin() -> ModuleType:
    """The Model Health plugin module (it imports Airflow's API server, as the api-server does)."""
    spec = importlib.util.spec_from_file_location("gapwatch_health_plugin", ROOT / "plugins" / "gapwatch_health_plugin.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
