"""The architecture as the imports show it (issue 17).

Layers, lowest first: the pure iTIP engine (``itip``); the boundary with
Radicale (``compat``); ``options``, ``principals`` and ``context``; the
storage adapter (``storage``); the transports (``delivery``); the HTTP
layer (``http``); and the modules that compose them (the package
``__init__``, ``plugin``, ``__main__``).  A module imports only from its own
layer or below, counting imports inside functions and under
``TYPE_CHECKING``.
"""

import ast
import os
import subprocess
import sys

import radicale_scheduling

PACKAGE = os.path.dirname(radicale_scheduling.__file__)
LAYERS = [
    {"itip"},
    {"compat"},
    {"options", "principals", "context"},
    {"storage"},
    {"delivery"},
    {"http"},
    {"__init__", "plugin", "__main__"},
]


def _layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else "__init__"
    for number, names in enumerate(LAYERS):
        if top in names:
            return number
    raise AssertionError("module %s is in no layer of this test" % module)


def _modules():
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                rel = os.path.relpath(path, os.path.dirname(PACKAGE))[:-3]
                module = rel.replace(os.sep, ".")
                if module.endswith(".__init__"):
                    module = module[:-len(".__init__")]
                yield module, path


def _nodes(tree, typing_too: bool):
    if not typing_too:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and \
                    "TYPE_CHECKING" in ast.dump(node.test):
                node.body = []
    yield from ast.walk(tree)


def _imports(module: str, path: str, typing_too: bool = True):
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    package = module if path.endswith("__init__.py") else \
        module.rpartition(".")[0]
    for node in _nodes(tree, typing_too):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            for alias in node.names:
                yield base + "." + alias.name


def test_every_import_goes_down_or_sideways():
    wrong = []
    for module, path in _modules():
        for target in _imports(module, path):
            if not target.startswith("radicale_scheduling.") or \
                    target == "radicale_scheduling":
                continue
            parts = target.split(".")
            # "from radicale_scheduling.x import name": the module is x
            target_module = ".".join(parts[:2])
            if _layer(target_module) > _layer(module):
                wrong.append("%s imports %s" % (module, target))
    assert not wrong, "\n".join(sorted(set(wrong)))


def test_the_engine_imports_without_radicale():
    code = ("import sys, radicale_scheduling.itip, radicale_scheduling.itip."
            "organizer; print(sorted(m for m in sys.modules if m == 'radicale'"
            " or m.startswith('radicale.')))")
    out = subprocess.run([sys.executable, "-c", code], check=True,
                         capture_output=True, text=True).stdout
    assert out.strip() == "[]"


def test_no_import_cycle():
    """Counting imports inside functions; those only for type hints
    aside."""
    modules = dict(_modules())
    graph = {}
    for module, path in modules.items():
        graph[module] = {t if t in modules else t.rpartition(".")[0]
                         for t in _imports(module, path, typing_too=False)}
        # A package's modules load it first anyway: no edge to ancestors.
        graph[module] = {t for t in graph[module] if t in modules and
                         not (module + ".").startswith(t + ".")}
    cycles = []
    for start in graph:
        stack, seen = [(start, [start])], set()
        while stack:
            node, trail = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    cycles.append(" -> ".join(trail + [start]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, trail + [nxt]))
    assert not cycles, "\n".join(sorted(cycles)[:20])
