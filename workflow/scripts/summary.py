#!/usr/bin/env python3
"""The workflow's summary: OUT/summary.csv and OUT/summary.html (self-contained, no external assets),
one row per recording, from the job status files OUT/status/<dataset_id>.json (run_hdmea.py).

The Snakefile calls write_summary() from its onsuccess/onerror handlers with the recordings of the
run; by hand, `python3 workflow/scripts/summary.py OUT` rewrites it from every status file in OUT.

Results: ok, failed, cancelled (the CLI stopped on SIGINT/SIGTERM; its checkpoint is kept),
interrupted (the job never finished: killed with its wrapper, e.g. a node lost), not run (no status:
not scheduled yet, or an upstream problem), missing output (a status says ok but the .h5 is gone).
"""
import csv
import datetime
import html
import json
import os
import sys

COLUMNS = ["recording", "dataset_id", "result", "units", "steps", "time_s", "warnings", "error",
           "steps_done", "warning_text", "resumed_from", "finished_at", "output", "log"]


def read_status(path):
    try:
        with open(path) as f:
            data = json.load(f)
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def row_for(out_dir, dataset_id, label=None):
    status_path = os.path.join(out_dir, "status", f"{dataset_id}.json")
    output = os.path.join(out_dir, f"{dataset_id}.h5")
    status = read_status(status_path)
    row = dict.fromkeys(COLUMNS, "")
    row.update(recording=label or dataset_id, dataset_id=dataset_id, output=output if os.path.exists(output) else "")
    if status is None:
        row["result"] = "ok (no status file)" if row["output"] else "not run"
        return row
    requested = status.get("requestedSteps") or []
    done = [s for s in requested if s in (status.get("steps") or [])]
    warnings = status.get("warnings") or []
    row.update(
        recording=label or status.get("recording") or dataset_id,
        result=status.get("result", "failed"),
        units="" if status.get("units") is None else status["units"],
        steps=f"{len(done)}/{len(requested)}" if requested and (done or status.get("units") is not None) else "",
        time_s=_seconds(status),
        warnings=len(warnings),
        error=status.get("error", ""),
        steps_done=" ".join(done),
        warning_text=" | ".join(warnings),
        _warnings=[str(w) for w in warnings],
        resumed_from=status.get("resumedFrom", ""),
        finished_at=status.get("finished_at", ""),
        log=status.get("log", ""),
    )
    if row["result"] == "running":
        row["result"] = "interrupted"
        row["error"] = f"the job did not finish (killed with its wrapper?); see {row['log']}"
    elif row["result"] == "ok" and not row["output"]:
        row["result"] = "missing output"
        row["error"] = f"{output} is gone"
    return row


def _seconds(status):
    value = status.get("seconds", status.get("wall_seconds"))
    return "" if value is None else f"{float(value):.1f}"


def write_summary(out_dir, recordings=None):
    """Writes OUT/summary.csv and OUT/summary.html; returns their paths. `recordings`: {dataset_id:
    {"label": …}} (the Snakefile's), else every OUT/status/*.json."""
    if recordings is None:
        folder = os.path.join(out_dir, "status")
        ids = sorted(n[:-5] for n in os.listdir(folder) if n.endswith(".json")) if os.path.isdir(folder) else []
        recordings = {i: {} for i in ids}
    rows = [row_for(out_dir, rid, (info or {}).get("label")) for rid, info in recordings.items()]
    os.makedirs(out_dir, exist_ok=True)
    csv_path, html_path = os.path.join(out_dir, "summary.csv"), os.path.join(out_dir, "summary.html")
    _replace(csv_path, lambda f: _write_csv(f, rows))
    _replace(html_path, lambda f: f.write(render_html(rows)))
    return csv_path, html_path


def _replace(path, write):
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", newline="") as f:
        write(f)
    os.replace(tmp, path)


def _write_csv(f, rows):
    writer = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)


def counts_line(rows):
    counts = {}
    for r in rows:
        counts[r["result"]] = counts.get(r["result"], 0) + 1
    parts = ", ".join(f"{n} {k}" for k, n in counts.items())
    return f"{len(rows)} recording{'' if len(rows) == 1 else 's'}" + (f": {parts}" if parts else "")


def render_html(rows):
    e = lambda v: html.escape(str(v))
    generated = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    body = []
    for r in rows:
        details = "".join(f"<li>{e(w)}</li>" for w in r.get("_warnings", []))
        cls = "ok" if r["result"].startswith("ok") else "bad" if r["result"] in ("failed", "interrupted", "missing output") else "other"
        body.append(
            f'<tr class="{cls}"><td>{e(r["recording"])}<div class="id">{e(r["dataset_id"])}</div></td>'
            f'<td class="n">{e(r["units"])}</td><td class="n" title="{e(r["steps_done"])}">{e(r["steps"])}</td>'
            f'<td class="n">{e(r["time_s"])}</td><td class="r">{e(r["result"])}</td>'
            f'<td class="n">{e(r["warnings"])}</td>'
            f'<td>{"<div class=err>" + e(r["error"]) + "</div>" if r["error"] else ""}'
            f'{"<ul>" + details + "</ul>" if details else ""}</td></tr>'
        )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>hdmea summary</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; }}
th, td {{ border-bottom: 1px solid #ddd; padding: .3em .7em; text-align: left; vertical-align: top; }}
td.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
tr.ok td.r {{ color: #176a2b; }} tr.bad td.r {{ color: #b3261e; font-weight: 600; }} tr.other td.r {{ color: #8a5a00; }}
.id {{ color: #777; font-size: 90%; }} .err {{ color: #b3261e; }} ul {{ margin: 0; padding-left: 1.2em; }}
</style></head><body>
<h1>hdmea summary</h1>
<p>{e(counts_line(rows))} · written {e(generated)}</p>
<table>
<thead><tr><th>recording</th><th>units</th><th>steps</th><th>time (s)</th><th>result</th><th>warnings</th><th>error / warnings</th></tr></thead>
<tbody>
{chr(10).join(body)}
</tbody></table>
</body></html>
"""


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: summary.py OUT   (the workflow's out_dir; rewrites OUT/summary.csv and .html)")
    for path in write_summary(sys.argv[1]):
        print(path)
