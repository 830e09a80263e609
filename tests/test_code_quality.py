"""Lint and type checks run with the suite, so CI enforces them on every change."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which(tool, path=str(Path(sys.executable).parent)) is None:
        pytest.skip(f"{tool} is not installed (pip install -e '.[test]')")
    return subprocess.run([str(Path(sys.executable).parent / tool), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_ruff_finds_nothing() -> None:
    result = _run("ruff", "check", "--quiet", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing() -> None:
    result = _run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_imports_flow_one_way_and_the_domain_knows_no_telegram() -> None:
    """app → handlers → jobs → telegram_io → bot, and bot imports no telegram (pyproject.toml)."""
    result = _run("lint-imports")
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_module_grows_past_about_500_lines() -> None:
    sizes = {path.relative_to(ROOT).as_posix(): len(path.read_text().splitlines())
             for folder in ("app", "bot", "handlers", "jobs", "telegram_io")
             for path in (ROOT / folder).rglob("*.py")}
    assert {name: size for name, size in sizes.items() if size > 520} == {}
