"""Ansible's own module checks (`ansible-test sanity`) on the runbook's modules, offline.

ansible-test checks a collection. This lays the modules (library/), the engine
(module_utils/bayview), the doc fragments and the callbacks out as the collection
`bayview.runbook` in a temporary directory (the project keeps its own layout), with the imports
and fragment names a collection uses, and runs the sanity tests that apply, with --local (the
project's virtualenv). ansible-test builds a virtualenv per test and bootstraps pip into it with a
script it downloads; there is no internet here, so its cache gets a stand-in that takes pip from
the standard library's ensurepip and this machine's package index settings.

    .venv/bin/python tests/ansible_sanity.py [--test validate-modules ...]    (make sanity)
"""

from __future__ import annotations

import argparse
import configparser
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE, NAME = "bayview", "runbook"
TESTS = ["validate-modules", "ansible-doc", "compile", "yamllint", "pylint"]
IGNORE = ROOT / "tests" / "sanity" / "ignore-2.19.txt"
PIP_BOOTSTRAP_VERSION = "24_2"  # the pip version ansible-test 2.19 bootstraps (its cache file name)

GET_PIP_STAND_IN = '''"""Stand-in for get-pip.py, written by tests/ansible_sanity.py: pip from ensurepip, then the
packages asked for, with the package index settings in pip.ini beside this file."""
import ensurepip
import os
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
env = {**os.environ, "PIP_CONFIG_FILE": os.path.join(os.path.dirname(os.path.abspath(__file__)), "pip.ini")}
subprocess.check_call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check", *args], env=env)
'''


def lay_out_collection(top: Path) -> Path:
    """The project's modules and engine as ansible_collections/bayview/runbook under top."""
    collection = top / "ansible_collections" / NAMESPACE / NAME
    plugins = collection / "plugins"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "library", plugins / "modules", ignore=ignore)
    shutil.copytree(ROOT / "module_utils" / "bayview", plugins / "module_utils" / "bayview", ignore=ignore)
    shutil.copytree(ROOT / "plugins" / "doc_fragments", plugins / "doc_fragments", ignore=ignore)
    shutil.copytree(ROOT / "plugins" / "callback", plugins / "callback", ignore=ignore)
    for path in plugins.rglob("*.py"):
        text = path.read_text()
        text = text.replace(
            "ansible.module_utils.bayview", f"ansible_collections.{NAMESPACE}.{NAME}.plugins.module_utils.bayview"
        )
        # The doc fragments by their collection names: [bayview_connection, bayview_store] ...
        text = re.sub(r"(?<=[\[ ])(bayview_connection|bayview_store)(?=[.,\]])", rf"{NAMESPACE}.{NAME}.\1", text)
        path.write_text(text)
    (collection / "galaxy.yml").write_text(
        f"namespace: {NAMESPACE}\nname: {NAME}\nversion: 0.2.0\nreadme: README.md\n"
        "authors: [Bay View runbook team]\nlicense_file: LICENSE\n"
    )
    shutil.copy(ROOT / "README.md", collection / "README.md")
    shutil.copy(ROOT / "LICENSE", collection / "LICENSE")
    (collection / "meta").mkdir()
    (collection / "meta" / "runtime.yml").write_text('---\nrequires_ansible: ">=2.19.0"\n')
    (collection / "tests" / "sanity").mkdir(parents=True)
    shutil.copy(IGNORE, collection / "tests" / "sanity" / IGNORE.name)
    return collection


def provide_pip_bootstrap() -> None:
    """ansible-test's pip bootstrap, from its cache (outside the checkout, in ~/.ansible/test/cache)."""
    cache = Path.home() / ".ansible" / "test" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    (cache / f"get_pip_{PIP_BOOTSTRAP_VERSION}.py").write_text(GET_PIP_STAND_IN)
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=True
    ).stdout
    config = configparser.ConfigParser(interpolation=None)
    config["global"] = {}
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        name = key.rpartition(".")[2]
        if name in ("cert", "index-url", "extra-index-url", "find-links", "trusted-host", "default-timeout"):
            config["global"][name] = value.strip().strip("'\"")
    with (cache / "pip.ini").open("w") as handle:
        config.write(handle)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--test", action="append", choices=TESTS, help=f"only these (default: {', '.join(TESTS)})")
    args = parser.parse_args(argv)
    provide_pip_bootstrap()
    with tempfile.TemporaryDirectory(prefix="bayview-sanity-") as top:
        collection = lay_out_collection(Path(top))
        command = [str(Path(sys.executable).parent / "ansible-test"), "sanity", "--local", "--python", "3.11"]
        for test in args.test or TESTS:
            command += ["--test", test]
        env = {**os.environ, "ANSIBLE_NOCOLOR": "1"}
        print("+", " ".join(command), f"(in {collection})", flush=True)
        return subprocess.run(command, cwd=collection, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
