"""Copy every entity from one adapter of the portable data API to another (for example the new
design into a MongoDB database), then reconcile the counts.

Persons go first, then the records (their persons by the new ids), then the payments (their record
by its new id). A target whose persons exist only inside records (Notion) gets each record's persons
as fields. An entity the source does not hold is skipped, said in the result; an entity the source
holds that the target cannot create stops the copy before anything is written. At the end, for each
entity, the target must hold as many more as the source holds: otherwise PortableError.
"""

from __future__ import annotations

from bayview_runbook.portable.contract import ORDER, REFERENCES, PortableDataAPI, PortableError


def copy_all(source: PortableDataAPI, target: PortableDataAPI) -> dict:
    """{'entities': {entity: {'source': n, 'copied': n, 'target_before': n, 'target_after': n}},
    'skipped': {entity: reason}}"""
    skipped, rows = {}, {}
    for entity in ORDER:
        reason = source.supports(entity, "query")
        if reason:
            skipped[entity] = f"the {source.name} source: {reason}"
            continue
        rows[entity] = source.query(entity, {})
    for entity, found in rows.items():
        if entity == "person" and target.embedded_persons:
            continue  # written with their records
        if found and (reason := target.supports(entity, "create")):
            raise PortableError(
                f"The {target.name} target cannot hold the source's {len(found)} {entity} record(s): {reason}. "
                "Nothing was copied."
            )
    counts = {
        e: {"source": len(r), "target_before": target.count(e) if not target.supports(e, "query") else None}
        for e, r in rows.items()
    }
    new_ids: dict[str, dict[str, str]] = {e: {} for e in ORDER}
    people = {p["id"]: p for p in rows.get("person", [])}
    for entity in ORDER:
        if entity not in rows or (entity == "person" and target.embedded_persons):
            continue
        for record in rows[entity]:
            data = {k: v for k, v in record.items() if k != "id"}
            if "persons" in data:
                data["persons"] = {
                    role: _person_fields(people, source, pid) if target.embedded_persons else new_ids["person"][pid]
                    for role, pid in data["persons"].items()
                }
            for column, referred in REFERENCES.items():
                if data.get(column) is not None:
                    data[column] = new_ids[referred][data[column]]
            new_ids[entity][record["id"]] = target.create(entity, data, check_references=False)
        counts[entity]["copied"] = len(new_ids[entity])
    for entity, count in counts.items():
        if count["target_before"] is not None:
            count["target_after"] = target.count(entity)
    if target.embedded_persons and "person" in counts:
        counts["person"]["copied"] = sum(len(r.get("persons") or {}) for e in rows for r in rows[e] if e != "person")
    wrong = [
        f"{e}: {c['source']} in the source, {c['copied']} copied, the target went from {c['target_before']} to "
        f"{c['target_after']}"
        for e, c in counts.items()
        if c.get("copied") != c["source"]
        or (c["target_before"] is not None and c["target_after"] - c["target_before"] != c["source"])
    ]
    if wrong:
        raise PortableError("The copy's counts do not reconcile: " + "; ".join(wrong) + ".")
    return {"entities": counts, "skipped": skipped, "reconciled": True}


def _person_fields(people: dict, source: PortableDataAPI, person_id: str) -> dict:
    person = people.get(person_id) or source.read("person", person_id)
    return {k: v for k, v in person.items() if k != "id" and v is not None}


def cli_copy(source_url: str, target_url: str, out=None) -> int:
    """bayview-runbook portable-copy --from URL --to URL: the counts per entity, or what failed."""
    import sys

    from bayview_runbook.portable import open_adapter

    out = out or sys.stdout
    try:
        with open_adapter(source_url) as source, open_adapter(target_url) as target:
            result = copy_all(source, target)
    except PortableError as exc:
        print(f"portable-copy failed: {exc}", file=sys.stderr)
        return 1
    for entity, count in result["entities"].items():
        print(f"{entity}: {count['source']} in {source.name}, {count['copied']} copied to {target.name}", file=out)
    for entity, reason in result["skipped"].items():
        print(f"{entity}: skipped ({reason})", file=out)
    print("counts reconciled", file=out)
    return 0
