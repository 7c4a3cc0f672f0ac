"""The command line as a user runs it: in process through click's ``CliRunner`` (fast; what
most CLI tests use), or as a real ``python -m msuinspect`` subprocess (the few end-to-end
cases: entry point, real stdout/stderr, exit status from the interpreter)."""

from __future__ import annotations

import os
import subprocess
import sys

from click.testing import CliRunner, Result

from msuinspect.cli import main

from support.corpus import REPO


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    """``msuinspect ARGS`` in this process: ``exit_code``, ``stdout`` and ``stderr`` apart.
    An exception the command does not handle itself fails the test with its traceback."""
    return CliRunner(env=env).invoke(main, list(args), catch_exceptions=False)


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``python -m msuinspect ARGS`` in a subprocess from the repository root, output captured
    as text; ``env`` is added to this process's environment."""
    return subprocess.run(
        [sys.executable, "-m", "msuinspect", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        check=False,
    )
