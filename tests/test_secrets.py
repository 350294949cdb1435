"""One distinct secret planted in every secret input, each really used (the database and admin roles
log in with them, S3 takes the keys, the SMTP server the password, the webhook its URL, the vault
opens with its password), passed through the vault, the environment and -e; then every artifact,
record, report, log, notification, stored object and database row is searched for all of them."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import urllib.parse
from pathlib import Path

import boto3
import psycopg
from psycopg import sql
from s3_endpoint import MotoServer

from bayview_runbook.engine import ROOT
from bayview_runbook.receivers import HttpReceiver, SmtpReceiver

BIN = Path(sys.executable).parent


def planted(name: str) -> str:
    return f"planted-{name}-{secrets.token_hex(8)}"


def make_roles(db, runbook: tuple[str, str], admin: tuple[str, str]) -> None:
    """Roles of the test's own, with the planted passwords, as the inventory names them."""
    with db.connect() as conn:
        for (role, password), extra in ((runbook, "CREATEDB"), (admin, "SUPERUSER")):
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN {} PASSWORD {}").format(
                    sql.Identifier(role), sql.SQL(extra), sql.Literal(password)
                )
            )
        # What the sample grants the runbook's role (reading the legacy schemas, seeing sessions).
        conn.execute(sql.SQL("GRANT bayview_runbook TO {}").format(sql.Identifier(runbook[0])))


def vault_encrypt(vault_file: Path, name: str, value: str) -> str:
    out = subprocess.run(
        [BIN / "ansible-vault", "encrypt_string", "--vault-password-file", str(vault_file), "--name", name, value],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


def test_no_secret_appears_anywhere(legacy_db, tmp_path):
    s = {name: planted(name) for name in ("db", "admin", "s3key", "s3secret", "smtp", "webhook", "vault")}
    runbook_role, admin_role = f"rb_{legacy_db.name}", f"adm_{legacy_db.name}"
    make_roles(legacy_db, (runbook_role, s["db"]), (admin_role, s["admin"]))
    moto = MotoServer()
    http, smtp = HttpReceiver(), SmtpReceiver(credentials=("runbook", s["smtp"]))
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        # The environment path: S3 keys (the boto3 chain) and the webhook URL with its token.
        "AWS_ACCESS_KEY_ID": s["s3key"],
        "AWS_SECRET_ACCESS_KEY": s["s3secret"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "SECRET_TEST_WEBHOOK_URL": http.url(f"/hooks/{s['webhook']}"),
        "BAYVIEW_ARTIFACTS_DIR": str(tmp_path / "artifacts"),
    }
    client = boto3.client(
        "s3",
        endpoint_url=moto.url,
        region_name="us-east-1",
        aws_access_key_id=s["s3key"],
        aws_secret_access_key=s["s3secret"],
    )
    try:
        client.create_bucket(Bucket="secrets-test")
        vault_file = tmp_path / "vault-password"
        vault_file.write_text(s["vault"] + "\n")
        inventory = tmp_path / "inventory"
        (inventory / "group_vars" / "bayview_databases").mkdir(parents=True)
        (inventory / "hosts.yml").write_text(
            "all:\n  children:\n    bayview_databases:\n      hosts:\n        target:\n"
        )
        group_vars = inventory / "group_vars" / "bayview_databases"
        # The vault path: the database, admin and SMTP passwords.
        (group_vars / "vault.yml").write_text(
            vault_encrypt(vault_file, "vault_db_password", s["db"])
            + vault_encrypt(vault_file, "vault_admin_password", s["admin"])
            + vault_encrypt(vault_file, "vault_smtp_password", s["smtp"])
        )
        (group_vars / "vars.yml").write_text(
            json.dumps(
                {
                    "ansible_connection": "local",
                    "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                    "bayview_environment": "local",
                    "bayview_auto_signoff": True,
                    "bayview_db_host": "127.0.0.1",
                    "bayview_db_port": legacy_db.cluster.port,
                    "bayview_db_name": legacy_db.name,
                    "bayview_db_user": runbook_role,
                    "bayview_db_sslmode": "disable",
                    "bayview_db_password": "{{ vault_db_password }}",
                    "bayview_admin_db_user": admin_role,
                    "bayview_admin_db_password": "{{ vault_admin_password }}",
                    "bayview_records_dir": str(tmp_path / "records"),
                    "restore_point_store": "s3://secrets-test/bayview",
                    "s3_endpoint_url": moto.url,
                    "s3_region": "us-east-1",
                    "bayview_webhooks": [{"name": "ops", "url": "{{ lookup('env', 'SECRET_TEST_WEBHOOK_URL') }}"}],
                    "bayview_email": {
                        "host": "127.0.0.1",
                        "port": smtp.port,
                        "username": "runbook",
                        "password": "{{ vault_smtp_password }}",
                        "sender": "runbook@test.invalid",
                        "to": ["ops@test.invalid"],
                    },
                },
                indent=1,
            )
        )
        vault = ("--vault-password-file", str(vault_file))
        outputs = []

        def run(*cmd: str) -> subprocess.CompletedProcess:
            done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
            outputs.append(done.stdout + done.stderr)
            return done

        rollback = (str(BIN / "ansible-playbook"), "playbooks/emergency_rollback.yml", "-i", str(inventory), *vault)
        # Phase 1 through the CLI, every secret from the vault and the environment.
        cli = run(str(BIN / "bayview-runbook"), "phase", "1", "--inventory", str(inventory), *vault)
        assert cli.returncode == 0, outputs[-1][-3000:]
        # The emergency rollback with ansible-playbook -vvv, the database password also given with -e.
        assert run(*rollback, "-vvv", "-e", f"bayview_db_password={s['db']}").returncode == 0, outputs[-1][-3000:]
        # A refusal's message (a restore point the store does not hold), secrets still in play.
        refused = run(*rollback, "-e", "restore_point=no-such-point", "-e", f"confirm_restore={legacy_db.name}")
        assert refused.returncode != 0 and "is not in s3://secrets-test/bayview" in " ".join(refused.stdout.split())

        # Every secret was really used.
        assert smtp.logins and set(smtp.logins) == {"runbook"}
        assert any(s["webhook"] in r["path"] for r in http.received)
        objects = client.list_objects_v2(Bucket="secrets-test").get("Contents", [])
        assert any(o["Key"].endswith("manifest.json") for o in objects)
        assert legacy_db.scalar("SELECT count(*) FROM migration.runbook_runs WHERE operator IS NOT NULL") >= 2

        # ... and appears nowhere.
        places = {f"output {i}": text for i, text in enumerate(outputs)}
        for path in tmp_path.rglob("*"):
            if path.is_file() and path != vault_file and path.parent != group_vars:
                places[str(path)] = path.read_text(errors="replace")
        for o in objects:
            body = client.get_object(Bucket="secrets-test", Key=o["Key"])["Body"].read()
            places[f"s3://{o['Key']}"] = body.decode(errors="replace")
        places["webhook payloads"] = json.dumps([r["json"] for r in http.received])
        places["emails"] = "\n".join(m.as_string() for m in smtp.messages)
        with psycopg.connect(legacy_db.cluster.conninfo(dbname=legacy_db.name)) as conn:
            for schema, table in conn.execute(
                "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema = 'migration' "
                "AND table_type = 'BASE TABLE'"
            ).fetchall():
                rows = conn.execute(
                    sql.SQL("SELECT t::text FROM {}.{} t").format(sql.Identifier(schema), sql.Identifier(table))
                ).fetchall()
                places[f"{schema}.{table}"] = "\n".join(r[0] for r in rows)
        places["the server's log"] = legacy_db.cluster.log_file.read_text(errors="replace")
        assert len(places) > 20
        forms = {
            name: {value, urllib.parse.quote(value), base64.b64encode(value.encode()).decode()}
            for name, value in s.items()
        }
        leaks = [
            (name, where)
            for where, text in places.items()
            for name, values in forms.items()
            if any(v in text for v in values)
        ]
        assert leaks == [], f"secrets found: {leaks}"
    finally:
        http.stop()
        smtp.stop()
        moto.stop()
        # The roles are the cluster's: they go with the test's database, which holds all they own.
        with psycopg.connect(legacy_db.cluster.conninfo(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(legacy_db.name)))
            for role in (runbook_role, admin_role):
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
