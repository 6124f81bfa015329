"""The package the tests exercise is the one users install (tests/run)."""

import os
import subprocess
import sys

import live
import pytest

import radicale_scheduling

CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INSTALLED = os.environ.get("RADICALE_SCHEDULING_INSTALLED") == "1"


def _from_checkout(path: str) -> bool:
    """The checkout's own package (tests/run's venvs live inside the
    checkout too, in .venv-test/)."""
    return os.path.dirname(os.path.abspath(path)) == os.path.join(
        CHECKOUT, "radicale_scheduling")


@pytest.mark.e2e
@pytest.mark.skipif(not INSTALLED, reason="tests/run only: run from the "
                    "checkout (PYTHONPATH=$PWD), the checkout is the package")
def test_the_tests_import_the_installed_wheel_not_the_checkout():
    assert not _from_checkout(radicale_scheduling.__file__), \
        radicale_scheduling.__file__
    assert not any(os.path.abspath(p or os.curdir) == CHECKOUT
                   for p in sys.path), "the checkout is on sys.path"


@pytest.mark.e2e
def test_a_live_server_imports_the_same_package_as_the_tests():
    """What ``python -m radicale`` started by the tests would load."""
    result = subprocess.run(
        [sys.executable, "-c", "import radicale_scheduling.delivery.outbound "
         "as m, radicale_scheduling as p; print(p.__file__)"],
        env=live.env(), cwd=os.path.dirname(CHECKOUT), capture_output=True,
        text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == os.path.abspath(
        radicale_scheduling.__file__)
