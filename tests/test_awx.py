"""The runbook as an AWX / Automation Platform project (docs/awx.md): the execution environment's
definition and the build context ansible-builder writes from it (offline; no image is built here),
the credential types, job templates and workflow in awxkit's import format, and playbooks run through
ansible-runner from a private data directory laid out as AWX lays it out for a job (project/,
inventory/hosts, env/extravars, env/envvars, env/cmdline), with the credentials' injectors rendered
as AWX renders them. No AWX server runs here: the AWX API the sign-off reads the approver from is a
small local HTTP server that answers the two requests it makes, as AWX answers them."""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import tomllib
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import jinja2
import jinja2.meta
import jinja2.sandbox
import pytest
import yaml
from ansible.module_utils.bayview import db as engine_db
from ansible.module_utils.bayview import gates, ledger
from ansible.module_utils.bayview.errors import RunbookError
from ansible_builder.ee_schema import validate_schema
from s3_endpoint import MotoServer

from bayview_runbook.engine import ROOT
from bayview_runbook.localpg import RUNBOOK_ROLE, SUPERUSER
from bayview_runbook.receivers import HttpReceiver, SmtpReceiver

AWX = ROOT / "awx"
EE_FILE = ROOT / "execution-environment.yml"
BIN = Path(sys.executable).parent
# AWX's own credential type for its API (awx/main/models/credential): the sign-off job uses it.
AWX_API_CREDENTIAL_TYPE = "Red Hat Ansible Automation Platform"
# What AWX refuses in a credential type's env injector (settings.ENV_BLOCKLIST, and ANSIBLE_*).
AWX_ENV_BLOCKLIST = {
    "VIRTUAL_ENV",
    "PATH",
    "PYTHONPATH",
    "JOB_ID",
    "INVENTORY_ID",
    "INVENTORY_SOURCE_ID",
    "INVENTORY_UPDATE_ID",
    "AD_HOC_COMMAND_ID",
    "REST_API_URL",
    "REST_API_TOKEN",
    "MAX_EVENT_RES",
    "CALLBACK_QUEUE",
    "CALLBACK_CONNECTION",
    "CACHE",
    "JOB_CALLBACK_DEBUG",
    "INVENTORY_HOSTVARS",
    "AWX_HOST",
    "PROJECT_REVISION",
    "SUPERVISOR_CONFIG_PATH",
}


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def controller() -> dict:
    return load(AWX / "bayview.yml")


def credential_types() -> dict[str, dict]:
    types = {}
    for path in sorted((AWX / "credential_types").glob("*.yml")):
        for item in load(path)["credential_types"]:
            types[item["name"]] = item
    return types


def job_templates() -> dict[str, dict]:
    return {jt["name"]: jt for jt in controller()["job_templates"]}


def common_settings() -> set[str]:
    spec = load(ROOT / "roles" / "bayview_common" / "meta" / "argument_specs.yml")
    return set(spec["argument_specs"]["main"]["options"])


def playbook_settings(playbook: Path) -> set[str]:
    """The options a playbook declares itself (its validate_argument_spec tasks)."""
    names: set[str] = set()

    def walk(tasks):
        for task in tasks or []:
            spec = task.get("ansible.builtin.validate_argument_spec")
            if spec:
                names.update(spec["argument_spec"])
            for key in ("block", "rescue", "always"):
                walk(task.get(key))

    for play in load(playbook):
        walk(play.get("tasks"))
    return names


def render(template: str, namespace: dict) -> str:
    """An injector rendered as AWX renders it: Jinja in a sandbox, inputs left empty are undefined."""
    return jinja2.sandbox.ImmutableSandboxedEnvironment().from_string(template).render(**namespace)


# --- The execution environment ---------------------------------------------------------------


def test_execution_environment_is_valid_schema_3_with_the_pyproject_pins():
    definition = load(EE_FILE)
    assert definition["version"] == 3
    validate_schema(load(EE_FILE))  # ansible-builder's own schema check
    deps = definition["dependencies"]
    pinned = {deps["ansible_core"]["package_pip"], deps["ansible_runner"]["package_pip"], *deps["python"]}
    runtime = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])
    assert pinned == runtime, "execution-environment.yml and pyproject.toml must pin the same runtime packages"
    assert all("==" in requirement for requirement in pinned)
    assert "galaxy" not in deps, "no collection: the runbook uses ansible-core only"
    assert deps["python_interpreter"]["python_path"].endswith("python3.11")  # ansible-core 2.19 on 3.11


def test_ansible_builder_create_writes_the_build_context_offline(tmp_path):
    context = tmp_path / "context"
    command = [
        str(BIN / "ansible-builder"),
        "create",
        "--file",
        str(EE_FILE),
        "--context",
        str(context),
        "--output-filename",
        "Containerfile",
    ]
    # Without a network at all, where this machine can make a namespace for it (root can).
    offline = ["unshare", "--net", "--"] if shutil.which("unshare") and os.geteuid() == 0 else []
    result = subprocess.run([*offline, *command], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    build = context / "_build"
    definition = load(EE_FILE)
    requirements = (build / "requirements.txt").read_text().split()
    assert requirements == definition["dependencies"]["python"]
    bindep = (build / "bindep.txt").read_text().splitlines()
    assert "postgresql [platform:rpm]" in bindep and "postgresql-client-16 [platform:dpkg]" in bindep
    assert all(re.fullmatch(r"[\w.+-]+ \[platform:(rpm|dpkg)\]", line) for line in bindep), bindep
    containerfile = (context / "Containerfile").read_text()
    assert 'ARG EE_BASE_IMAGE="quay.io/centos/centos:stream9"' in containerfile
    assert 'ARG ANSIBLE_INSTALL_REFS="ansible-core==2.19.14 ansible-runner==2.4.3"' in containerfile
    # The PostgreSQL 16 stream is enabled before the system packages, and the image refuses an older client.
    assert containerfile.index("module enable postgresql:16") < containerfile.index("install-from-bindep")
    assert "pg_dump --version" in containerfile and "older than PostgreSQL 16" in containerfile
    # Nothing from Galaxy, and none of the project's files: AWX mounts the synced project for each job.
    assert "ansible-galaxy" not in containerfile
    assert not list(context.rglob("*.yml")), "the image carries no playbook: AWX mounts the project"
    assert sorted(p.name for p in build.iterdir()) == ["bindep.txt", "requirements.txt", "scripts"]


# --- Credential types, job templates, the workflow ------------------------------------------


# The natural key awxkit builds for each type of object (awxkit.api.pages.*.NATURAL_KEY), plus "type".
NATURAL_KEY_CLASSES = {
    "organization": "Organization",
    "credential_type": "CredentialType",
    "credential": "Credential",
    "execution_environment": "ExecutionEnvironment",
    "project": "Project",
    "inventory": "Inventory",
    "inventory_source": "InventorySource",
    "job_template": "JobTemplate",
    "workflow_job_template": "WorkflowJobTemplate",
    "workflow_job_template_node": "WorkflowJobTemplateNode",
}


def natural_keys(node):
    """Every natural key in an import document (a dict with a "type" that names an object type)."""
    if isinstance(node, dict):
        if node.get("type") in NATURAL_KEY_CLASSES:
            yield node
        for value in node.values():
            yield from natural_keys(value)
    elif isinstance(node, list):
        for value in node:
            yield from natural_keys(value)


def test_the_awx_files_load_as_awx_import_loads_them():
    """`awx import -f yaml` reads its input with awxkit's YAML loader and imports the resources awxkit
    exports; every reference is a natural key of the shape awxkit builds for that type."""
    import awxkit.api.pages as pages
    from awxkit.api.pages.api import EXPORTABLE_RESOURCES
    from awxkit.yaml_file import Loader

    for path in [*sorted((AWX / "credential_types").glob("*.yml")), AWX / "bayview.yml"]:
        with path.open() as stream:
            data = yaml.load(stream, Loader=Loader)  # noqa: S506 - awxkit's own loader, a SafeLoader
        assert data == load(path)
        resources = {key for key in data if not key.startswith("x-")}  # x-: the anchors, which awxkit ignores
        assert resources <= set(EXPORTABLE_RESOURCES), (path, resources)
        for resource in resources:
            for asset in data[resource]:
                key = asset["natural_key"]
                assert key.get("name", key.get("identifier")) == asset["name"], (path, asset["name"])
        for key in natural_keys(data):
            expected = getattr(pages, NATURAL_KEY_CLASSES[key["type"]]).NATURAL_KEY
            assert set(key) - {"type"} <= set(expected), (path, key)
            assert {"name", "identifier"} & set(key), (path, key)
    assert set(credential_types()) == {
        "Bay View database",
        "Bay View restore point store",
        "Bay View SMTP",
        "Bay View webhook",
        "Bay View Notion",
    }


def test_every_reference_names_an_object_of_the_files_or_one_made_by_hand():
    """The import creates what it references, except the credentials (their secrets are typed into AWX;
    docs/awx.md, step 3), whose types are those of awx/credential_types or AWX's own API type."""
    data = controller()
    defined = {
        json.dumps(asset["natural_key"], sort_keys=True)
        for assets in data.values()
        if isinstance(assets, list)
        for asset in assets
    }
    for wfjt in data["workflow_job_templates"]:
        defined |= {json.dumps(node["natural_key"], sort_keys=True) for node in wfjt["related"]["workflow_nodes"]}
    types = set(credential_types()) | {AWX_API_CREDENTIAL_TYPE}
    for key in natural_keys({k: v for k, v in data.items() if not k.startswith("x-")}):
        if key["type"] == "credential":
            assert key["credential_type"]["name"] in types, key
        elif key["type"] != "credential_type":
            assert json.dumps(key, sort_keys=True) in defined, key


def test_every_credential_injector_references_a_declared_input():
    env = jinja2.Environment(autoescape=False)  # noqa: S701 - parsing only, nothing is rendered as HTML
    common = common_settings()
    for name, ctype in credential_types().items():
        fields = {field["id"]: field for field in ctype["inputs"]["fields"]}
        assert set(ctype["inputs"].get("required", [])) <= set(fields), name
        injectors = ctype["injectors"]
        files = {label.split(".", 1)[1] if "." in label else "" for label in injectors.get("file", {})}

        def templates(node):
            if isinstance(node, dict):
                for value in node.values():
                    yield from templates(value)
            elif isinstance(node, list):
                for value in node:
                    yield from templates(value)
            else:
                yield node

        for template in templates(injectors):
            referenced = jinja2.meta.find_undeclared_variables(env.parse(template))
            assert referenced <= set(fields) | {"tower"}, (name, template)
            for label in re.findall(r"tower\.filename\.(\w+)", template):
                assert label in files, (name, template)
        for variable in injectors.get("env", {}):
            assert variable not in AWX_ENV_BLOCKLIST and not variable.startswith("ANSIBLE_"), (name, variable)
        # What the extra variables inject is a setting of the runbook (validated, no_log where secret).
        assert set(injectors.get("extra_vars", {})) <= common, name
        for field in fields.values():
            if re.search(r"password|secret|token|url", field["id"]):
                assert field.get("secret") is True and "default" not in field, (name, field["id"])


def test_every_playbook_has_one_job_template_and_every_job_template_runs_one():
    # The playbooks of the repository (one still being written, not yet tracked, is not asked for yet).
    listed = subprocess.run(["git", "ls-files", "playbooks/*.yml"], cwd=ROOT, capture_output=True, text=True)
    playbooks = set(listed.stdout.split()) or {f"playbooks/{p.name}" for p in (ROOT / "playbooks").glob("*.yml")}
    templated = [jt["playbook"] for jt in controller()["job_templates"]]
    assert sorted(templated) == sorted(set(templated)), "one job template per playbook"
    assert set(templated) <= playbooks, set(templated) - playbooks
    assert playbooks <= set(templated), (
        f"add a job template to awx/bayview.yml for {sorted(playbooks - set(templated))}"
    )


def test_every_extra_variable_is_a_setting_the_playbook_validates():
    common = common_settings()
    templates = job_templates()
    for jt in templates.values():
        extra = yaml.safe_load(jt["extra_vars"]) or {}
        allowed = common | playbook_settings(ROOT / jt["playbook"])
        assert set(extra) <= allowed, (jt["name"], set(extra) - allowed)
    for wfjt in controller()["workflow_job_templates"]:
        assert not wfjt["ask_variables_on_launch"] and not wfjt["extra_vars"], "no signoff_by past the approvals"
        for node in wfjt["related"]["workflow_nodes"]:
            if "unified_job_template" not in node:
                continue
            jt = templates[node["unified_job_template"]["name"]]
            allowed = common | playbook_settings(ROOT / jt["playbook"])
            assert set(node.get("extra_data", {})) <= allowed, (node["identifier"], node.get("extra_data"))
            if node.get("extra_data"):
                assert jt["ask_variables_on_launch"], f"{jt['name']} must accept the node's extra_data"


def test_every_job_template_credential_is_of_a_type_in_the_repository():
    types = set(credential_types()) | {AWX_API_CREDENTIAL_TYPE}
    for jt in job_templates().values():
        credentials = jt["related"]["credentials"]
        kinds = [c["credential_type"]["name"] for c in credentials]
        assert set(kinds) <= types, jt["name"]
        assert len(kinds) == len(set(kinds)), f"{jt['name']}: AWX takes one credential of each type"
        assert "Bay View database" in kinds, jt["name"]
        if jt["playbook"] == "playbooks/signoff.yml":
            assert AWX_API_CREDENTIAL_TYPE in kinds


def test_the_workflow_is_each_phase_then_its_approval_then_its_sign_off():
    (wfjt,) = controller()["workflow_job_templates"]
    nodes = {node["identifier"]: node for node in wfjt["related"]["workflow_nodes"]}
    children = {
        identifier: [ref["identifier"] for ref in node["related"].get("success_nodes", [])]
        for identifier, node in nodes.items()
    }
    for identifier, node in nodes.items():
        assert node["natural_key"]["identifier"] == identifier
        assert not node["related"].get("failure_nodes") and not node["related"].get("always_nodes"), identifier
        for ref in node["related"].get("success_nodes", []):
            assert ref["workflow_job_template"] == wfjt["natural_key"] and ref["identifier"] in nodes
    (root,) = set(nodes) - {child for kids in children.values() for child in kids}
    chain = [root]
    while children[chain[-1]]:
        (child,) = children[chain[-1]]
        chain.append(child)
    assert len(chain) == len(nodes), "every node is on the one chain"
    templates = job_templates()
    expected = []
    for phase in range(1, 6):
        expected += [f"phase-{phase}", f"phase-{phase}-approval", f"signoff-phase-{phase}"]
    assert chain == expected
    for phase in range(1, 6):
        run, approval, signoff = (nodes[i] for i in expected[3 * (phase - 1) : 3 * phase])
        assert templates[run["unified_job_template"]["name"]]["playbook"] == f"playbooks/phase{phase}.yml"
        assert "unified_job_template" not in approval and approval["related"]["create_approval_template"]["name"]
        assert templates[signoff["unified_job_template"]["name"]]["playbook"] == "playbooks/signoff.yml"
        assert signoff["extra_data"] == {"phase": phase, "signoff_awx_approval": approval["identifier"]}


# --- Jobs run as AWX runs them ---------------------------------------------------------------


class AwxApi:
    """The two AWX API requests the sign-off makes, answered as AWX answers them, for one workflow job
    whose approval node was decided by one user. Requests without the token get 401."""

    def __init__(self, workflow_job: int, node: str, approval: int, status: str, approver: dict):
        self.token = secrets.token_urlsafe(24)
        created = datetime.now(UTC).isoformat().replace("+00:00", "Z")  # the workflow reached the node now
        self.requests: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                api.requests.append(self.path)
                if self.headers.get("Authorization") != f"Bearer {api.token}":
                    return self.reply(401, {"detail": "Authentication credentials were not provided."})
                if self.path == f"/api/v2/workflow_jobs/{workflow_job}/workflow_nodes/?identifier={node}":
                    job = {"id": approval, "type": "workflow_approval", "status": status}
                    result = {"id": 900, "identifier": node, "job": approval, "summary_fields": {"job": job}}
                    return self.reply(200, {"count": 1, "results": [result]})
                if self.path.startswith(f"/api/v2/workflow_jobs/{workflow_job}/workflow_nodes/"):
                    return self.reply(200, {"count": 0, "results": []})
                if self.path == f"/api/v2/workflow_approvals/{approval}/":
                    decided = {"approved_or_denied_by": approver} if status != "pending" else {}
                    body = {"id": approval, "status": status, "created": created, "summary_fields": decided}
                    return self.reply(200, body)
                return self.reply(404, {"detail": "Not found."})

            def reply(self, code: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def passwords(passfile: Path) -> dict[str, str]:
    return {line.split(":")[3]: line.split(":", 4)[4] for line in passfile.read_text().splitlines() if line}


def project_copy(target: Path) -> Path:
    """The project as AWX hands it to a job: the repository's files (tracked, and new ones not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_symlink():  # as git checks it out (playbooks/callback_plugins)
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).symlink_to(os.readlink(source))
        elif source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def tree(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest() for p in path.rglob("*") if p.is_file()
    }


class AwxJob:
    """A private data directory laid out as AWX lays one out for a job of a job template of awx/bayview.yml,
    with the credentials' injectors rendered as AWX renders them, run by ansible-runner."""

    def __init__(self, root: Path, project: Path, db, settings: dict):
        self.root, self.db = root, db
        (root / "env").mkdir(parents=True)
        (root / "inventory").mkdir()
        shutil.copytree(project, root / "project", symlinks=True)
        roles = f"{root}/requirements_roles:roles:~/.ansible/roles:/usr/share/ansible/roles:/etc/ansible/roles"
        collections = f"{root}/requirements_collections:~/.ansible/collections:/usr/share/ansible/collections"
        self.envvars = {
            "ANSIBLE_ROLES_PATH": roles,  # AWX's, with the project's roles_path (ansible.cfg) in it
            "ANSIBLE_COLLECTIONS_PATH": collections,
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "AWX_PRIVATE_DATA_DIR": str(root),
            "JOB_ID": "7001",
            "PROJECT_REVISION": "test",
        }
        self.cmdline: list[str] = []
        # The inventory as AWX writes it: an executable script that prints the inventory's JSON.
        hostvars = {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "bayview_environment": "local",
            "bayview_db_host": "127.0.0.1",
            "bayview_db_port": db.cluster.port,
            "bayview_db_name": db.name,
            "bayview_db_sslmode": "disable",
            "bayview_auto_signoff": False,
            **settings,  # the store, as the inventory sets it
        }
        inventory = {
            "all": {"children": ["bayview_databases"]},
            "bayview_databases": {"hosts": ["awx-target"]},
            "_meta": {"hostvars": {"awx-target": hostvars}},
        }
        script = root / "inventory" / "hosts"
        script.write_text(f"#! {sys.executable}\n# -*- coding: utf-8 -*-\nprint({json.dumps(json.dumps(inventory))})\n")
        script.chmod(0o700)

    def attach(self, type_name: str, inputs: dict) -> None:
        """A credential of a type of awx/credential_types, injected as AWX injects it."""
        injectors = credential_types()[type_name]["injectors"]
        namespace = {k: v for k, v in inputs.items() if v != ""}
        tower = {"filename": {}}
        for label, template in injectors.get("file", {}).items():
            path = self.root / "env" / f"cred_file_{secrets.token_hex(4)}"
            path.write_text(render(template, namespace))
            path.chmod(0o600)
            tower["filename"][label.split(".", 1)[1]] = str(path)
        namespace["tower"] = tower
        for variable, template in injectors.get("env", {}).items():
            self.envvars[variable] = render(template, namespace)

        def build(node):
            if isinstance(node, dict):
                return {k: build(v) for k, v in node.items()}
            if isinstance(node, list):
                return [build(v) for v in node]
            return render(node, namespace)

        if injectors.get("extra_vars"):
            path = self.root / "env" / f"cred_vars_{secrets.token_hex(4)}"
            path.write_text(yaml.safe_dump(build(injectors["extra_vars"])))
            path.chmod(0o400)
            self.cmdline += ["-e", f"@{path}"]

    def run(self, job_template: str, ident: str, extra: dict | None = None, env: dict | None = None):
        jt = job_templates()[job_template]
        extravars = {
            **(yaml.safe_load(jt["extra_vars"]) or {}),
            # What AWX adds to every job of a template (awx_meta_vars), a user having launched it.
            "awx_job_id": 7001,
            "awx_job_launch_type": "workflow",
            "awx_user_name": "launcher",
            "awx_job_template_name": jt["name"],
            "awx_project_revision": "test",
            **(extra or {}),
        }
        (self.root / "env" / "extravars").write_text(yaml.safe_dump(extravars))
        (self.root / "env" / "envvars").write_text(yaml.safe_dump({**self.envvars, **(env or {})}))
        (self.root / "env" / "cmdline").write_text(" ".join(self.cmdline))
        # The job's own environment: nothing of this checkout's (no ANSIBLE_CONFIG, no BAYVIEW_*, no PG*).
        clean = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("ANSIBLE_", "BAYVIEW_", "PG", "AWS_", "CONTROLLER_", "NOTION_"))
        }
        clean["PATH"] = f"{BIN}{os.pathsep}{clean.get('PATH', '')}"
        clean["HOME"] = str(self.root)
        result = subprocess.run(
            [str(BIN / "ansible-runner"), "run", str(self.root), "-p", jt["playbook"], "--ident", ident],
            cwd=self.root,
            env=clean,
            capture_output=True,
            text=True,
            timeout=300,
        )
        return result, self.root / "artifacts" / ident


def events(artifact: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((artifact / "job_events").glob("*.json"))]


def task_result(artifact: Path, task: str) -> dict:
    for event in events(artifact):
        data = event.get("event_data", {})
        if event["event"] == "runner_on_ok" and data.get("task") == task:
            return data["res"]
    raise AssertionError(f"no result of '{task}'")


@pytest.fixture(scope="session")
def awx_project(tmp_path_factory):
    return project_copy(tmp_path_factory.mktemp("awx-project-source"))


def new_job(root: Path, project: Path, db, settings: dict) -> AwxJob:
    job = AwxJob(root, project, db, settings)
    secret = passwords(db.cluster.passfile)
    job.attach(
        "Bay View database",
        {
            "username": RUNBOOK_ROLE,
            "password": secret[RUNBOOK_ROLE],
            "admin_username": SUPERUSER,
            "admin_password": secret[SUPERUSER],
            # Required by the type; the local cluster is reached with sslmode disable, which reads no CA.
            "ssl_root_cert": "not read: the test cluster is on loopback with sslmode disable\n",
        },
    )
    job.project_before = tree(job.root / "project")
    job.secrets = [secret[RUNBOOK_ROLE], secret[SUPERUSER]]
    return job


@pytest.fixture
def awx_job(tmp_path, awx_project, legacy_db):
    return new_job(tmp_path / "job", awx_project, legacy_db, {"restore_point_store": f"file://{tmp_path}/store"})


def assert_ran(result, artifact: Path, status: str = "successful") -> None:
    assert (artifact / "status").read_text() == status, result.stdout[-4000:] + result.stderr[-2000:]
    assert (artifact / "rc").read_text() == ("0" if status == "successful" else "2")
    assert result.returncode == int((artifact / "rc").read_text())
    kinds = [event["event"] for event in events(artifact)]
    assert kinds[0] == "playbook_on_start" and "playbook_on_stats" in kinds, kinds[:3]
    # ansible-runner sets ANSIBLE_CALLBACK_PLUGINS, which hides ansible.cfg's callback_plugins: the run's
    # keeper is told where the run is by the playbook-adjacent callback_plugins (playbooks/callback_plugins).
    assert "Skipping callback plugin" not in (artifact / "stdout").read_text()


def assert_nothing_leaked(job: AwxJob, artifact: Path, *more_secrets: str) -> None:
    assert tree(job.root / "project") == job.project_before, "the job wrote into the project directory"
    # What AWX keeps and shows of a job: its output and its events. (ansible-runner's own 'command' file holds
    # the job's whole environment, credentials' variables included, readable by its owner only; AWX neither
    # keeps nor shows it: the private data directory goes with the job.)
    shown = [artifact / "stdout", artifact / "stderr", *(artifact / "job_events").iterdir()]
    written = "".join(p.read_text(errors="replace") for p in shown if p.is_file())
    for secret in [*job.secrets, *more_secrets]:
        assert secret not in written


@pytest.mark.e2e
def test_phase_1_approval_sign_off_phase_2_run_as_awx_runs_them(tmp_path, awx_project, legacy_db):
    """The workflow's first nodes, job by job: Phase 1 with the store, webhook and SMTP credentials attached
    (restore point and audit record in the S3 store, events delivered, nothing in the project directory), the
    sign-off after the approval (the gate signed off in the approver's name, read from the API), then Phase 2,
    which finds Phase 1 signed off and switches dual-write on."""
    moto, http = MotoServer(), HttpReceiver()
    smtp_login = ("runbook", secrets.token_urlsafe(12))
    smtp = SmtpReceiver(credentials=smtp_login)
    keys = {"access_key_id": "AKIA" + secrets.token_hex(8).upper(), "secret_access_key": secrets.token_urlsafe(30)}
    try:
        s3 = boto3.client(
            "s3",
            endpoint_url=moto.url,
            region_name="us-east-1",
            aws_access_key_id=keys["access_key_id"],
            aws_secret_access_key=keys["secret_access_key"],
        )
        s3.create_bucket(Bucket="bayview-restore-points")
        store = {
            "restore_point_store": "s3://bayview-restore-points/awx",
            "s3_endpoint_url": moto.url,
            "s3_region": "us-east-1",
        }
        job = new_job(tmp_path / "job", awx_project, legacy_db, store)
        job.attach("Bay View restore point store", keys)
        job.attach("Bay View webhook", {"name": "operators", "url": http.url()})
        job.attach(
            "Bay View SMTP",
            {
                "host": "127.0.0.1",
                "port": str(smtp.port),
                "starttls": False,  # the test receiver offers AUTH on loopback without TLS
                "username": smtp_login[0],
                "password": smtp_login[1],
                "sender": "runbook@awx.invalid",
                "to": "operators@awx.invalid",
            },
        )
        result, artifact = job.run("Bay View - Phase 1 - foundation", "phase1")
        assert_ran(result, artifact)
        gate = legacy_db.query("SELECT passed, signed_off_by FROM migration.phase_gates WHERE phase = 1")
        assert gate == [(True, None)], "an AWX phase is signed off by its approval, not by itself"
        record = task_result(artifact, "Finish the run record")["record"]
        assert Path(record["record_file"]).is_relative_to(job.root / "bayview-records" / "awx-target")
        assert record["operator"] == "launcher (AWX job 7001)"
        stored = [o["Key"] for o in s3.list_objects_v2(Bucket="bayview-restore-points")["Contents"]]
        assert record["audit_file"] == f"s3://bayview-restore-points/awx/{record['audit_file'].split('/awx/', 1)[1]}"
        assert any(key.startswith(f"awx/audit/{legacy_db.name}/") for key in stored), stored
        restore_point = task_result(artifact, "Take a fresh restore point")["restore_point"]["id"]
        assert any(restore_point in key for key in stored), (restore_point, stored)
        assert any("Phase 1 started" in text for text in http.texts()), http.texts()
        assert smtp.logins and len(smtp.messages) == len(http.received)
        assert_nothing_leaked(job, artifact, keys["secret_access_key"], smtp_login[1], http.url())

        approver = {"id": 7, "username": "japprover", "first_name": "Jane", "last_name": "Approver"}
        api = AwxApi(workflow_job=45, node="phase-1-approval", approval=123, status="successful", approver=approver)
        try:
            controller_env = {
                "CONTROLLER_HOST": api.url,
                "CONTROLLER_OAUTH_TOKEN": api.token,
                "CONTROLLER_VERIFY_SSL": "False",
            }
            extra = {"phase": 1, "signoff_awx_approval": "phase-1-approval", "awx_workflow_job_id": 45}
            result, artifact = job.run("Bay View - Sign off a phase", "signoff1", extra, controller_env)
        finally:
            api.close()
        assert_ran(result, artifact)
        signed = legacy_db.scalar("SELECT signed_off_by FROM migration.phase_gates WHERE phase = 1 AND passed")
        assert signed == "Jane Approver (AWX user japprover, approval 123 of workflow job 45)"
        assert_nothing_leaked(job, artifact, api.token)

        result, artifact = job.run("Bay View - Phase 2 - parallel implementation", "phase2")
        assert_ran(result, artifact)
        previous = task_result(artifact, "Refuse to start unless the previous phase passed and was signed off")
        assert previous["gate"]["signed_off_by"] == signed
        assert legacy_db.scalar("SELECT mode FROM migration.dual_write_mode") == "dual"
        assert legacy_db.query("SELECT passed, signed_off_by FROM migration.phase_gates WHERE phase = 2") == [
            (True, None)
        ]
        assert any("Phase 2 started" in text for text in http.texts()), http.texts()
        assert_nothing_leaked(job, artifact, keys["secret_access_key"], smtp_login[1], http.url())
    finally:
        moto.stop()
        http.stop()
        smtp.stop()


@pytest.mark.parametrize(
    ("status", "said"),
    [("failed", "is failed"), ("pending", "is pending")],
    ids=["denied", "pending"],
)
def test_a_sign_off_refuses_an_approval_that_was_not_given(awx_job, legacy_db, status, said):
    """Run as the workflow's sign-off node is: a denied (or undecided) approval signs nothing off, and the
    job fails as ansible-runner reports a failure, saying why."""
    approver = {"id": 8, "username": "jdenier", "first_name": "", "last_name": ""}
    api = AwxApi(workflow_job=46, node="phase-2-approval", approval=124, status=status, approver=approver)
    try:
        controller_env = {"CONTROLLER_HOST": api.url, "CONTROLLER_OAUTH_TOKEN": api.token}
        extra = {"phase": 2, "signoff_awx_approval": "phase-2-approval", "awx_workflow_job_id": 46}
        result, artifact = awx_job.run("Bay View - Sign off a phase", f"signoff-{status}", extra, controller_env)
    finally:
        api.close()
    assert_ran(result, artifact, status="failed")
    assert f"Approval 124 ('phase-2-approval') of workflow job 46 {said}" in (artifact / "stdout").read_text()
    assert "nothing was signed off" in (artifact / "stdout").read_text()
    assert api.requests[0] == "/api/v2/workflow_jobs/46/workflow_nodes/?identifier=phase-2-approval"
    assert legacy_db.scalar("SELECT to_regclass('migration.phase_gates')") is None, "the database was not touched"
    assert_nothing_leaked(awx_job, artifact, api.token)


def test_a_sign_off_outside_a_workflow_needs_a_name(awx_job):
    result, artifact = awx_job.run("Bay View - Sign off a phase", "signoff-nobody", {"phase": 1})
    assert_ran(result, artifact, status="failed")
    assert "Nobody signs off. Nothing was signed off." in (artifact / "stdout").read_text()


def test_a_typed_name_cannot_sign_off_in_an_awx_job(awx_job, legacy_db):
    """Past the workflow's approvals: a job template launched with signoff_by is refused before anything."""
    result, artifact = awx_job.run("Bay View - Sign off a phase", "signoff-typed", {"phase": 1, "signoff_by": "Anyone"})
    assert_ran(result, artifact, status="failed")
    assert "under AWX a phase is signed off by approving" in (artifact / "stdout").read_text()
    assert legacy_db.scalar("SELECT to_regclass('migration.phase_gates')") is None, "the database was not touched"


def test_an_approval_signs_off_only_a_gate_recorded_before_it_was_requested(legacy_db):
    """An approval replayed from an earlier workflow (its sign-off job launched again, or its id passed by hand)
    cannot sign off a later run's gate: the approval's request time must follow the gate."""
    passed = [{"name": "everything", "passed": True, "detail": "-"}]
    with engine_db.connect(legacy_db.params()) as conn:
        ledger.bootstrap(conn, "test", "run-1")
        before = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
        gates.record(conn, "127.0.0.1", 1, "run-1", passed, {}, None, None, False, "local")
        with pytest.raises(RunbookError, match="after this approval was requested"):
            gates.sign_off(conn, 1, "Jane Approver (AWX user japprover)", requested_at=before)
        assert gates.latest(conn, 1)["signed_off_by"] is None
        after = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        gate, changed = gates.sign_off(conn, 1, "Jane Approver (AWX user japprover)", requested_at=after)
        assert changed and gate["signed_off_by"] == "Jane Approver (AWX user japprover)"
