"""The package the tests exercise is the one users install (tests/run)."""

import os
import subprocess
import sys

import live
import pytest

import radicale_scheduling

CHECKOUT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
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


#: Distribution name -> the module it provides, where they differ.
MODULE_OF = {"python-dateutil": "dateutil"}


def test_declared_dependencies_are_the_imported_ones():
    """setup.cfg's install_requires and the third-party modules the
    package imports are the same set."""
    import ast
    import configparser
    import re

    setup = configparser.ConfigParser()
    setup.read(os.path.join(CHECKOUT, "setup.cfg"))
    declared = {
        MODULE_OF.get(name.lower(), name.lower().replace("-", "_"))
        for name in (re.split(r"[\s<>=!~;\[]", line.strip())[0] for line in
                     setup["options"]["install_requires"].splitlines())
        if name}
    imported = set()
    package = os.path.dirname(os.path.abspath(radicale_scheduling.__file__))
    for folder, _, files in os.walk(package):
        for name in files:
            if not name.endswith(".py"):
                continue
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                tree = ast.parse(f.read())
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    imported.update(a.name.split(".")[0] for a in node.names)
                elif isinstance(node, ast.ImportFrom) and not node.level:
                    imported.add((node.module or "").split(".")[0])
    if not hasattr(sys, "stdlib_module_names"):
        pytest.skip("Python 3.10 or later tells the standard library")
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    third_party = imported - stdlib - {"radicale_scheduling", ""}
    assert third_party == declared
