"""One process of the association's web application, for the tests under load: it writes through the
data-access layer (DualWriteManager, with the application's own role) until a stop file appears.

Each writer inserts, updates and deletes memorials and chapel services of its own (and updates
sample rows whose id is its number modulo the writer count), one transaction each. After each
commit it appends the write to its log (JSON lines), so the test knows every write the
application saw commit; a write that raised goes to the same log as a refusal, with the error.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from datetime import date, timedelta
from datetime import time as clock
from pathlib import Path

import psycopg

from bayview_runbook.data_access import DualWriteManager

MEMORIALS, SERVICES = "bayview.memorials", "crouse_chapel.service_applications"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conninfo", required=True)
    parser.add_argument("--writer", type=int, required=True)
    parser.add_argument("--writers", type=int, required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--stop", required=True)
    parser.add_argument("--pause", type=float, default=0.02, help="seconds between writes (load shaping)")
    args = parser.parse_args()
    rng = random.Random(args.writer)  # noqa: S311 - a test's load, not a secret
    stop, log = Path(args.stop), open(args.log, "a")  # noqa: SIM115 - open for the whole run
    conn = psycopg.connect(args.conninfo, autocommit=True, application_name=f"bayview-app-{args.writer}")
    manager = DualWriteManager(conn)
    mine: dict[str, list[int]] = {MEMORIALS: [], SERVICES: []}
    n = 0
    while not stop.exists():
        n += 1
        table = MEMORIALS if n % 3 else SERVICES
        op = rng.choice(["insert", "insert", "update", "update", "delete"]) if mine[table] else "insert"
        try:
            if op == "insert":
                values = _new_row(table, args.writer, n)
                key = manager.insert(table, values)
                mine[table].append(key)
            elif op == "update":
                key = rng.choice(mine[table]) if rng.random() < 0.7 else _sample_row(args, rng)
                table = table if key in mine[table] else MEMORIALS
                values = {"contact_name": f"Writer{args.writer} Update{n}"}
                manager.update(table, key, values)
            else:
                key = mine[table].pop(rng.randrange(len(mine[table])))  # our own rows have no dependents
                manager.delete(table, key)
                values = {}
            log.write(json.dumps({"op": op, "table": table, "key": key, "values": values}, default=str) + "\n")
        except Exception as exc:  # noqa: BLE001 - every refusal is logged for the test to judge
            log.write(json.dumps({"op": op, "table": table, "refused": f"{type(exc).__name__}: {exc}"}) + "\n")
        log.flush()
        time.sleep(args.pause)  # a busy web application, not a benchmark: the machine has two cores
    conn.close()


def _new_row(table: str, writer: int, n: int) -> dict:
    if table == MEMORIALS:
        return {
            "submission_id": f"MG-load-{writer}-{n}",
            "first_name": f"Load{writer}",
            "last_name": f"Person{n}",
            "contact_name": f"Contact{writer} Of{n}",
            "application_type": "immediate",
        }
    day = date(2031, 1, 1) + timedelta(days=writer * 10_000 + n)  # unique (service_date, service_time)
    return {
        "application_type": "wedding",
        "service_date": day,
        "service_time": clock(14, 0),
        "contact_name": f"Couple{writer} No{n}",
        "contact_phone": "231-555-0100",
    }


def _sample_row(args, rng: random.Random) -> int:
    """A memorial of the sample that only this writer updates."""
    return rng.randrange(1, 100) * args.writers + args.writer


if __name__ == "__main__":
    main()
