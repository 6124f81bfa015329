"""Radicale's own test suite, run on plain Radicale and with the plugin as
storage; prints the tests whose outcome differs.

    python tests/radicale_suite.py RADICALE_SOURCE [-k EXPR] [-- PYTEST_ARGS]

RADICALE_SOURCE is a checkout of Radicale (its ``radicale/tests``), ideally
of the installed version; Radicale's packages ship without the tests.  The
tests run against the Radicale installed in this interpreter, from a copy
in a temporary folder, so nothing in either checkout changes.  Their base
class builds each test's configuration with ``configure``; a conftest wraps
it to set ``[storage] type = radicale_scheduling`` wherever a test leaves
the default storage type.  Exit status 1 when outcomes differ.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from typing import Dict, List

CONFTEST = '''\
import os

import radicale

# Radicale's installed package has no tests: the copy next to this file
# provides radicale.tests.
radicale.__path__.insert(0, os.path.join(os.path.dirname(__file__),
                                         "overlay", "radicale"))

from radicale.tests import BaseTest  # noqa: E402

if not hasattr(BaseTest, "setup_method"):
    # Radicale 3.1's tests use nose's setup/teardown, which pytest 8 no
    # longer calls.
    BaseTest.setup_method = lambda self: self.setup()
    BaseTest.teardown_method = lambda self: self.teardown()

if os.environ.get("SUITE_STORAGE"):
    _configure = BaseTest.configure

    def configure(self, config_):
        config_ = {section: dict(values)
                   for section, values in config_.items()}
        storage = config_.setdefault("storage", {})
        if "type" not in storage and self.configuration.get(
                "storage", "type") == "multifilesystem":
            storage["type"] = os.environ["SUITE_STORAGE"]
        _configure(self, config_)

    BaseTest.configure = configure
'''


def outcomes(folder: str, storage: str, pytest_args: List[str]
             ) -> Dict[str, str]:
    report = os.path.join(folder, "report-%s.xml" % (storage or "plain"))
    env = dict(os.environ, SUITE_STORAGE=storage)
    plugin_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [plugin_root, env.get("PYTHONPATH")]))
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p",
                    "no:cacheprovider", "--junitxml", report,
                    "-o", "junit_family=xunit1",
                    os.path.join(folder, "overlay", "radicale", "tests"),
                    *pytest_args], cwd=folder, env=env,
                   stdout=subprocess.DEVNULL, check=False)
    result: Dict[str, str] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        name = "%s::%s" % (case.get("classname"), case.get("name"))
        state = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                state = child.tag
                if child.tag != "skipped":
                    state += ": " + (child.get("message") or "")[:300]
        result[name] = state
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("source", help="a Radicale checkout")
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="radicale-suite-") as folder:
        shutil.copytree(os.path.join(args.source, "radicale", "tests"),
                        os.path.join(folder, "overlay", "radicale", "tests"))
        with open(os.path.join(folder, "conftest.py"), "w") as f:
            f.write(CONFTEST)
        plain = outcomes(folder, "", args.pytest_args)
        plugin = outcomes(folder, "radicale_scheduling", args.pytest_args)
    differ = sorted(name for name in set(plain) | set(plugin)
                    if plain.get(name, "missing").split(":")[0] !=
                    plugin.get(name, "missing").split(":")[0])
    count = {state: sum(1 for s in plain.values() if s.startswith(state))
             for state in ("passed", "failure", "error", "skipped")}
    print("plain Radicale: %d tests, %s" % (len(plain), count))
    count = {state: sum(1 for s in plugin.values() if s.startswith(state))
             for state in ("passed", "failure", "error", "skipped")}
    print("with the plugin: %d tests, %s" % (len(plugin), count))
    for name in differ:
        print("DIFFERS %s\n  plain:  %s\n  plugin: %s" % (
            name, plain.get(name, "missing"), plugin.get(name, "missing")))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
