"""Every module's DOCUMENTATION matches its argument_spec, and ansible-doc works from the repo root."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.bayview.db import connection_argument_spec
from conftest import ROOT

MODULES = sorted(p.stem for p in (ROOT / "library").glob("bayview_*.py"))
FRAGMENT = ROOT / "plugins" / "doc_fragments" / "bayview_connection.py"


def _module_spec(path: Path) -> dict:
    """The argument_spec literal passed to new_module(), plus the shared connection spec."""
    source = path.read_text()
    namespace: dict = {"__name__": "doc_test"}
    exec(compile(source, str(path), "exec"), namespace)  # noqa: S102 - our own file
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "new_module":
            return {**connection_argument_spec(), **eval(ast.unparse(node.args[1]), namespace)}  # noqa: S307
    raise AssertionError(f"{path} does not call new_module")


def _doc_options(path: Path) -> dict:
    namespace: dict = {}
    exec(compile(ast.parse(path.read_text()), str(path), "exec"), namespace)  # noqa: S102 - our own file
    doc = yaml.safe_load(namespace["DOCUMENTATION"])
    descriptions = doc["description"] if isinstance(doc["description"], list) else [doc["description"]]
    assert all(isinstance(d, str) for d in descriptions), f"{path.name}: a description line is not text"
    for name in ("EXAMPLES", "RETURN"):
        assert namespace.get(name, "").strip(), f"{path.name} has no {name}"
    yaml.safe_load(namespace["EXAMPLES"])
    yaml.safe_load(namespace["RETURN"])
    options = dict(doc.get("options") or {})
    if "bayview_connection" in doc.get("extends_documentation_fragment", []):
        fragment: dict = {}
        exec(FRAGMENT.read_text(), fragment)  # noqa: S102 - our own file
        options.update(yaml.safe_load(fragment["ModuleDocFragment"].DOCUMENTATION)["options"])
    return options


def _compare(spec: dict, options: dict, where: str) -> None:
    assert set(spec) == set(options), f"{where}: spec {sorted(spec)} vs documented {sorted(options)}"
    for name, arg in spec.items():
        doc = options[name]
        text = doc.get("description")
        assert all(isinstance(t, str) for t in (text if isinstance(text, list) else [text])), (
            f"{where}.{name}: description"
        )
        assert doc.get("type", "str") == arg.get("type", "str"), f"{where}.{name}: type"
        assert bool(doc.get("required", False)) == bool(arg.get("required", False)), f"{where}.{name}: required"
        if "default" in arg:
            assert doc.get("default") == arg["default"], f"{where}.{name}: default"
        if "choices" in arg:
            assert doc.get("choices") == arg["choices"], f"{where}.{name}: choices"
        if "elements" in arg:
            assert doc.get("elements") == arg["elements"], f"{where}.{name}: elements"
        if "options" in arg:
            # An option may reuse the connection's suboptions by saying so.
            if "suboptions" not in doc and "same suboptions as O(connection)" in " ".join(text):
                _compare(arg["options"], options["connection"]["suboptions"], f"{where}.{name}")
            else:
                _compare(arg["options"], doc.get("suboptions", {}), f"{where}.{name}")


@pytest.mark.parametrize("module", MODULES)
def test_documentation_matches_argument_spec(module):
    path = ROOT / "library" / f"{module}.py"
    _compare(_module_spec(path), _doc_options(path), module)


@pytest.mark.parametrize("module", MODULES)
def test_ansible_doc_renders_from_the_repo_root(module):
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-doc"), "-t", "module", module],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "connection" in result.stdout and "EXAMPLES" in result.stdout


def test_passwords_are_no_log():
    assert connection_argument_spec()["connection"]["options"]["password"]["no_log"] is True
