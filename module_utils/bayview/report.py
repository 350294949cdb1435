"""The HTML run report: what an operator (or the person signing off) reads after a run.

Rendered with jinja2 from the finished run record alone, so every run gets one, a failed one
included, and the report can never say something the record does not. It shows the checklist
with pass/fail, the ledger before and after, the counts, validation, timings, the restore
points and a chart of batch throughput. Self-contained: no script, no external file, so it
opens the same from a laptop, a mail attachment or the restore-point store.
"""

from __future__ import annotations

import statistics

import jinja2

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ title }}</title>
<style>
 body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #1d1d1d; padding: 0 1rem; }
 h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ccc; }
 table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #eee; }
 td.num { text-align: right; font-variant-numeric: tabular-nums; }
 .status { display: inline-block; padding: .1rem .6rem; border-radius: .3rem; font-weight: 700; color: #fff; }
 .pass { background: #1a7f37; } .fail { background: #c62828; } .none { background: #6b6b6b; }
 .stopped { border: 2px solid #c62828; padding: .6rem 1rem; background: #fff3f3; }
 .meta td:first-child { color: #555; width: 12rem; } .changed { background: #fff8d6; }
 svg text { font: 11px system-ui, sans-serif; fill: #333; }
</style>
</head>
<body>
<h1>{{ title }}</h1>
<p>Result: <span id="result" class="status {{ 'pass' if record.status == 'succeeded' else 'fail' }}">
{{- record.status | upper }}</span>{% if record.check_mode %} (check mode: a dry run, nothing was changed){% endif %}</p>

{% if record.status != 'succeeded' %}
<div class="stopped" id="stopped">
<p><strong>Stopped at:</strong> {{ details.failed_task | default('unknown step') }}</p>
<p><strong>Why:</strong> {{ details.error | default('see the playbook output') }}</p>
{% if details.restore_point %}<p><strong>Restore point of this run:</strong> {{ details.restore_point }}</p>{% endif %}
</div>
{% endif %}

<table class="meta">
<tr><td>Run</td><td>{{ record.run_id }}</td></tr>
<tr><td>Playbook</td><td>{{ record.playbook }}</td></tr>
<tr><td>Database</td><td>{{ record.database }}</td></tr>
<tr><td>Operator</td><td>{{ record.operator }}</td></tr>
<tr><td>Control host</td><td>{{ record.control_host }}</td></tr>
<tr><td>Runbook version</td><td>{{ record.runbook_version | default('unknown') }}</td></tr>
<tr><td>Tags</td><td>{{ (record.tags | default([])) | join(', ') or 'all' }}</td></tr>
<tr><td>Started / finished</td><td>{{ record.started_at }} / {{ record.finished_at }}</td></tr>
<tr><td>Ledger version</td><td>{{ record.version_before | default('-') }} &rarr; {{ record.version_after | default('-') }}</td></tr>
</table>

<h2>Checklist</h2>
{% if checklist %}
<table id="checklist">
<tr><th>Check</th><th>Result</th><th>Evidence</th></tr>
{% for c in checklist %}
<tr><td>{{ c.name }}</td><td><span class="status {{ 'pass' if c.passed else 'fail' }}">{{ 'PASS' if c.passed else 'FAIL' }}</span></td>
<td>{{ c.detail }}</td></tr>
{% endfor %}
</table>
{% if gate %}<p id="signoff">Gate of Phase {{ gate.phase }}: {{ 'passed' if gate.passed else 'NOT passed' }};
{% if gate.signed_off_by %}signed off by {{ gate.signed_off_by }} at {{ gate.signed_off_at }}.
{% else %}not signed off yet: review this report, then run playbooks/signoff.yml -e phase={{ gate.phase }} -e signoff_by="Your Name".{% endif %}</p>{% endif %}
{% else %}
<p id="checklist">No checklist was recorded: the run stopped before its gate.</p>
{% endif %}

<h2>Restore points</h2>
<table id="restore-points">
<tr><td>Taken by this run</td><td>{{ details.restore_point or 'none' }}</td></tr>
{% if rehearsal %}<tr><td>Rollback rehearsed on</td><td>{{ rehearsal.scratch_database | default('-') }}
 from {{ rehearsal.restore_point | default('-') }}: legacy data {{ 'unchanged' if rehearsal.legacy_unchanged else 'CHANGED' }}</td></tr>{% endif %}
</table>

<h2>Ledger before and after</h2>
{% if ledger %}
<table id="ledger">
<tr><th>Version</th><th>Name</th><th>Phase</th><th>Before</th><th>After</th></tr>
{% for row in ledger %}
<tr{% if row.before != row.after %} class="changed"{% endif %}><td class="num">{{ row.version }}</td><td>{{ row.name }}</td>
<td class="num">{{ row.phase }}</td><td>{{ row.before }}</td><td>{{ row.after }}</td></tr>
{% endfor %}
</table>
{% else %}<p>The ledger was not read in this run.</p>{% endif %}

<h2>Counts</h2>
{% if counts %}
<table id="counts">
<tr><th>Data migration</th><th>Status</th><th>Legacy rows</th><th>Read</th><th>Migrated</th><th>Quarantined</th>
<th>Excluded</th><th>Reconciles</th></tr>
{% for m in counts %}
<tr><td>{{ m.data_migration }}</td><td>{{ m.status }}</td><td class="num">{{ '{:,}'.format(m.legacy_total) }}</td>
<td class="num">{{ '{:,}'.format(m.rows_read) }}</td><td class="num">{{ '{:,}'.format(m.migrated) }}</td>
<td class="num">{{ '{:,}'.format(m.quarantined) }}</td><td class="num">{{ '{:,}'.format(m.excluded) }}</td>
<td>{{ 'yes' if m.migrated + m.quarantined + m.excluded == m.candidates else 'NO' }}
 ({{ '{:,}'.format(m.candidates) }} candidates found)</td></tr>
{% endfor %}
</table>
<p>Open dual-write discrepancies: {{ state_after.open_discrepancies | default(0) }};
 dual-write mode: {{ (state_after.dual_write.mode if state_after.dual_write else none) or 'not set up' }}.</p>
{% else %}<p>No data migration has run on this database.</p>{% endif %}

<h2>Validation</h2>
{% if validation %}
<p id="validation-result">Validation {{ validation.validation_id }}:
<span class="status {{ 'pass' if validation.passed else 'fail' }}">{{ 'PASSED' if validation.passed else 'FAILED' }}</span>
in {{ validation.seconds }} s.</p>
<table id="validation">
{% for c in validation.checks %}
<tr><td>{{ c.check }}</td><td><span class="status {{ 'pass' if c.passed else 'fail' }}">{{ 'PASS' if c.passed else 'FAIL' }}</span></td>
<td>{{ c.summary }}</td></tr>
{% endfor %}
</table>
{% else %}<p>No validation in this run.</p>{% endif %}

{% if notion %}
<h2>Notion reconciliation</h2>
<table id="notion">
<tr><th>Database</th><th>Outcome</th><th>Rule</th><th>Pages</th><th>Probable duplicates</th></tr>
{% for r in notion.by_rule %}
<tr><td>{{ r.database }}</td><td>{{ r.outcome }}</td><td>{{ r.rule }}</td>
<td class="num">{{ '{:,}'.format(r.pages) }}</td><td class="num">{{ '{:,}'.format(r.probable_duplicates) }}</td></tr>
{% endfor %}
</table>
<p id="notion-totals">{{ '{:,}'.format(notion.pages) }} staged pages; {{ '{:,}'.format(notion.quarantined) }}
 quarantined; {{ '{:,}'.format(notion.probable_duplicates) }} probable duplicates;
 {{ '{:,}'.format(notion.differences) }} differences with the legacy rows (migration.notion_differences).</p>
{% if notion.quarantined_pages %}<table id="notion-quarantined"><tr><th>Quarantined page</th><th>Reason</th></tr>
{% for q in notion.quarantined_pages %}<tr><td>{{ q.title }}</td><td>{{ q.reason }}</td></tr>{% endfor %}
</table>{% endif %}
{% if notion.gone_pages %}<p id="notion-gone">{{ '{:,}'.format(notion.gone) }} staged pages are no longer in
 Notion (trashed or deleted there): kept, with their records.</p><table id="notion-gone-pages">
<tr><th>Page</th><th>Outcome</th><th>Missed since</th></tr>
{% for g in notion.gone_pages %}<tr><td>{{ g.title }}</td><td>{{ g.outcome }}</td><td>{{ g.gone_at }}</td></tr>{% endfor %}
</table>{% endif %}
{% if notion.differences_listed %}<table id="notion-differences">
<tr><th>Page</th><th>Field</th><th>Notion</th><th>Legacy</th><th>Winner</th><th>Rule</th></tr>
{% for d in notion.differences_listed %}<tr><td>{{ d.title }}</td><td>{{ d.field }}</td><td>{{ d.notion }}</td>
<td>{{ d.legacy }}</td><td>{{ d.winner }}</td><td>{{ d.rule }}</td></tr>{% endfor %}
</table>{% endif %}
{% endif %}

{% if performance %}
<h2>Legacy query performance</h2>
<table id="performance">
<tr><th>Query</th><th>Baseline ms</th><th>Now ms</th><th>Allowed ms</th></tr>
{% for q in performance %}
<tr><td>{{ q.query }}</td><td class="num">{{ q.baseline_ms | default('-') }}</td><td class="num">{{ q.now_ms | default(q.milliseconds) | default('-') }}</td>
<td class="num">{{ q.allowed_ms | default('-') }}</td></tr>
{% endfor %}
</table>
{% endif %}

<h2>Timings</h2>
<table id="timings">
{% for name, seconds in timings %}<tr><td>{{ name }}</td><td class="num">{{ seconds }} s</td></tr>{% endfor %}
</table>

<h2>Batch throughput</h2>
{% for chart in charts %}
<figure class="chart">
<figcaption>{{ chart.name }}: {{ chart.batches }} batches, median {{ '{:,}'.format(chart.median) }} rows/s
 (lowest {{ '{:,}'.format(chart.low) }}, highest {{ '{:,}'.format(chart.high) }})</figcaption>
<svg role="img" aria-label="rows per second of each batch of {{ chart.name }}" width="{{ chart.width }}" height="{{ chart.height + 30 }}"
 viewBox="0 0 {{ chart.width }} {{ chart.height + 30 }}">
<line x1="50" y1="{{ chart.height }}" x2="{{ chart.width }}" y2="{{ chart.height }}" stroke="#999"/>
<text x="0" y="12">{{ '{:,}'.format(chart.high) }}</text><text x="0" y="{{ chart.height }}">0</text>
<text x="50" y="{{ chart.height + 20 }}">batch 1</text>
<text x="{{ chart.width - 60 }}" y="{{ chart.height + 20 }}">batch {{ chart.batches }}</text>
{% for bar in chart.bars %}<rect class="bar" x="{{ bar.x }}" y="{{ bar.y }}" width="{{ bar.w }}" height="{{ bar.h }}" fill="#2f6db5">
<title>batch {{ bar.n }} up to key {{ bar.last_key }}: {{ bar.rows }} rows, {{ '{:,}'.format(bar.rate) }} rows/s</title></rect>
{% endfor %}
</svg>
</figure>
{% else %}
<p id="no-batches">No batches ran in this run.</p>
{% endfor %}
</body>
</html>
"""

CHART_WIDTH, CHART_HEIGHT, CHART_LEFT = 640, 180, 50

_TEMPLATE = jinja2.Environment(autoescape=True, undefined=jinja2.ChainableUndefined).from_string(TEMPLATE)


def _ledger_rows(before: list[dict], after: list[dict]) -> list[dict]:
    rows: dict[int, dict] = {}
    for side, entries in (("before", before), ("after", after)):
        for e in entries:
            row = rows.setdefault(e["version"], {"version": e["version"], "name": e["name"], "phase": e["phase"]})
            row[side] = e["status"]
    return [
        {**r, "before": r.get("before", "absent"), "after": r.get("after", "absent")}
        for r in (rows[k] for k in sorted(rows))
    ]


def _chart(checkpoint: dict) -> dict | None:
    timings = checkpoint.get("batch_timings") or []
    if not timings:
        return None
    rates = [round(t["rows"] / max(t["seconds"], 1e-6)) for t in timings]
    high = max(rates) or 1
    step = (CHART_WIDTH - CHART_LEFT) / len(rates)
    bars = []
    for n, (t, rate) in enumerate(zip(timings, rates, strict=True), start=1):
        h = round(CHART_HEIGHT * rate / high, 1)
        bars.append(
            {
                "n": n,
                "x": round(CHART_LEFT + (n - 1) * step, 1),
                "w": round(max(step * 0.8, 0.5), 1),
                "y": round(CHART_HEIGHT - h, 1),
                "h": h,
                "rate": rate,
                "rows": t["rows"],
                "last_key": t["last_key"],
            }
        )
    return {
        "name": checkpoint.get("data_migration", "data migration"),
        "batches": len(rates),
        "median": round(statistics.median(rates)),
        "low": min(rates),
        "high": high,
        "bars": bars,
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
    }


def _checkpoints(details: dict) -> list[dict]:
    """The data migrations' checkpoints this run recorded (older records kept other shapes)."""
    found = details.get("data_migrations")
    return [cp for cp in found if isinstance(cp, dict)] if isinstance(found, list) else []


def _timings(record: dict, details: dict) -> list[tuple[str, float]]:
    found: list[tuple[str, float]] = []
    if record.get("seconds") is not None:
        found.append(("whole run", record["seconds"]))
    if details.get("restore_point_seconds") is not None:
        found.append(("restore point taken", details["restore_point_seconds"]))
    if isinstance(details.get("rollback_rehearsal"), dict):
        found.append(("rollback rehearsal on a scratch copy", details["rollback_rehearsal"].get("seconds")))
    for cp in _checkpoints(details):
        if cp.get("seconds") is not None:
            found.append((f"{cp.get('data_migration')} batches", cp["seconds"]))
    if isinstance(details.get("validation"), dict):
        found.append(("validation", details["validation"].get("seconds")))
    return [(name, s) for name, s in found if s is not None]


def render(record: dict) -> str:
    """The report of one finished run record."""
    details = record.get("details") or {}
    gate = details.get("gate") if isinstance(details.get("gate"), dict) else None
    state_before = details.get("state_before") or {}
    state_after = details.get("state_after") or {}
    where = record.get("database", "")
    what = f"Phase {record['phase']}" if str(record.get("phase", "")).isdigit() else record.get("playbook", "run")
    context = {
        "title": f"Bay View runbook: {what} on {where}",
        "record": record,
        "details": details,
        "gate": gate,
        "checklist": (gate or {}).get("criteria") or details.get("checklist") or [],
        "rehearsal": details.get("rollback_rehearsal") if isinstance(details.get("rollback_rehearsal"), dict) else None,
        "ledger": _ledger_rows(state_before.get("ledger") or [], state_after.get("ledger") or []),
        "state_after": state_after,
        "counts": state_after.get("data_migrations") or [],
        "validation": details.get("validation") if isinstance(details.get("validation"), dict) else None,
        "performance": details.get("performance") if isinstance(details.get("performance"), list) else None,
        "notion": details.get("notion") if isinstance(details.get("notion"), dict) else None,
        "timings": _timings(record, details),
        "charts": [c for c in (_chart(cp) for cp in _checkpoints(details)) if c],
    }
    return _TEMPLATE.render(**context)
