"""The project's fixture generator (tests/fixtures/generate_fixtures.py) as a module, for
tests that build variants of its fixtures with its own builders."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from support.corpus import FIXTURES

_NAME = "msuinspect_fixture_generator"


def fixture_generator() -> ModuleType:
    """The generator module, loaded once."""
    if _NAME not in sys.modules:
        spec = importlib.util.spec_from_file_location(_NAME, FIXTURES / "generate_fixtures.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[_NAME] = module  # dataclasses look their module up while the class is built
        spec.loader.exec_module(module)
    return sys.modules[_NAME]
