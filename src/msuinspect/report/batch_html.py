"""``scan --format html``: one self-contained static page (no external assets, works offline).

The page holds the batch summary, a chart of signing class by package build month, a table
that sorts (click a heading) and filters (by outcome and by text), and each file's details
(reasons, signatures and chains, catalog coverage, findings, the host verdict and its
reasons with ``--host``) and the offline-media checks (duplicates, download-name SHA-1
mismatches, files not Microsoft-signed, a KB in several versions). File names, member names and
messages are attacker-controlled: every one is HTML-escaped, none reaches the script, and a
Content-Security-Policy allows only the page's own script (by hash) and inline styles.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
from collections import Counter
from collections.abc import Sequence
from html import escape
from typing import TextIO

from msuinspect import __version__
from msuinspect.report.batch_common import (
    OUTCOME_ORDER,
    Record,
    Row,
    batch_summary,
    iter_findings,
    row_of,
    summary_of,
)
from msuinspect.scan.media_checks import MediaChecker, MediaChecks

_SCRIPT = """
(function () {
  var table = document.getElementById("files");
  var body = table.tBodies[0];
  var outcome = document.getElementById("outcome");
  var text = document.getElementById("text");
  var shown = document.getElementById("shown");
  function rows() { return Array.prototype.slice.call(body.querySelectorAll("tr.file")); }
  function apply() {
    var want = outcome.value, needle = text.value.toLowerCase(), n = 0;
    rows().forEach(function (tr) {
      var ok = (!want || tr.getAttribute("data-outcome") === want) &&
               (!needle || tr.textContent.toLowerCase().indexOf(needle) >= 0);
      tr.hidden = !ok;
      var det = tr.nextElementSibling;
      if (det && det.classList.contains("detail")) { det.hidden = !ok; }
      if (ok) { n += 1; }
    });
    shown.textContent = String(n);
  }
  outcome.addEventListener("change", apply);
  text.addEventListener("input", apply);
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
    th.addEventListener("click", function () {
      var asc = th.getAttribute("data-sort") !== "asc";
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) {
        h.removeAttribute("data-sort");
      });
      th.setAttribute("data-sort", asc ? "asc" : "desc");
      var numeric = th.classList.contains("num");
      var pairs = rows().map(function (tr) {
        var cell = tr.cells[col];
        var key = cell.getAttribute("data-key");
        if (key === null) { key = cell.textContent; }
        return [numeric ? Number(key) : key.toLowerCase(), tr, tr.nextElementSibling];
      });
      pairs.sort(function (a, b) {
        var r = a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
        return asc ? r : -r;
      });
      pairs.forEach(function (p) { body.appendChild(p[1]); if (p[2]) { body.appendChild(p[2]); } });
    });
  });
  apply();
})();
"""

_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 6px; text-align: left; vertical-align: top; }
th { cursor: pointer; background: #f4f4f4; position: sticky; top: 0; }
th[data-sort=asc]::after { content: " \\25B2"; } th[data-sort=desc]::after { content: " \\25BC"; }
td.num, th.num { text-align: right; }
.o-error { color: #fff; background: #b00020; } .o-problem { color: #fff; background: #d9480f; }
.o-warning { background: #ffd43b; } .o-ok { background: #b2f2bb; }
.badge { padding: 0 6px; border-radius: 3px; font-weight: 600; }
tr.detail td { background: #fafafa; font-size: 13px; }
code, .path { font-family: ui-monospace, monospace; word-break: break-all; }
.chart text { font-size: 11px; }
"""

_PALETTE = ("#1c7ed6", "#37b24d", "#f59f00", "#e8590c", "#ae3ec9", "#868e96", "#0ca678")


def _e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def _badge(outcome: str) -> str:
    return f'<span class="badge o-{_e(outcome)}">{_e(outcome)}</span>'


def _chart(rows: Sequence[Row]) -> str:
    """Stacked bars: files by package build month (YYYY-MM), coloured by signing class."""
    counts: Counter[tuple[str, str]] = Counter()
    for row in rows:
        month = row.build_date[:7]
        if len(month) == 7:
            counts[(month, row.signing or "unknown")] += 1
    if not counts:
        return "<p>No package build dates to chart.</p>"
    months = sorted({m for m, _ in counts})
    classes = sorted({c for _, c in counts})
    colour = {c: _PALETTE[i % len(_PALETTE)] for i, c in enumerate(classes)}
    top = max(sum(counts[(m, c)] for c in classes) for m in months)
    bar, gap, height = 18, 6, 120
    width = len(months) * (bar + gap) + 40
    parts = [
        f'<svg class="chart" role="img" aria-label="signing class by build month" '
        f'width="{width}" height="{height + 70}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, month in enumerate(months):
        x = 30 + i * (bar + gap)
        y = height
        for cls in classes:
            n = counts[(month, cls)]
            if not n:
                continue
            h = max(1, round(n * height / top))
            y -= h
            parts.append(
                f'<rect x="{x}" y="{y}" width="{bar}" height="{h}" fill="{colour[cls]}">'
                f"<title>{_e(month)} {_e(cls)}: {n}</title></rect>"
            )
        parts.append(
            f'<text x="{x + bar / 2}" y="{height + 12}" transform="rotate(60 {x + bar / 2} '
            f'{height + 12})">{_e(month)}</text>'
        )
    parts.append(f'<text x="0" y="10">{top}</text></svg>')
    legend = " ".join(
        f'<span class="badge" style="background:{colour[c]};color:#fff">{_e(c)}</span>'
        for c in classes
    )
    return "".join(parts) + f"<p>{legend}</p>"


def _signature_lines(rec: Record) -> str:
    items = []
    for s in rec.get("signatures") or ():
        signer = (s.get("signer") or {}).get("subject")
        anchor = (s.get("trust_anchor") or {}).get("subject")
        chain = " &rarr; ".join(_e((c or {}).get("subject")) for c in s.get("chain") or ())
        ts = (s.get("timestamp") or {}).get("time")
        items.append(
            f"<li>#{_e(s.get('index'))}{' (nested)' if s.get('nested') else ''}: "
            f"{_e(s.get('digest_algorithm'))}, digest "
            f"{'ok' if s.get('digest_valid') else _e(s.get('digest_valid'))}, "
            f"signature {'ok' if s.get('signature_valid') else _e(s.get('signature_valid'))}, "
            f"trusted {'yes' if s.get('trusted') else 'no'}; signer {_e(signer)}; "
            f"anchor {_e(anchor)}; timestamp {_e(ts)}<br><small>chain: {chain}</small></li>"
        )
    return f"<ul>{''.join(items)}</ul>" if items else "<p>no signature</p>"


def _coverage_lines(rec: Record) -> str:
    items = []
    for node in (rec.get("package") or {}).get("nodes") or ():
        cov = node.get("coverage")
        if not cov:
            continue
        items.append(
            f'<li><span class="path">{_e(node.get("path"))}</span>: {_e(cov.get("status"))}'
            f"{' by ' + _e(cov.get('catalog')) if cov.get('catalog') else ''}</li>"
        )
    return f"<ul>{''.join(items)}</ul>" if items else "<p>no catalog coverage to show</p>"


def _verdict_lines(rec: Record) -> str:
    v = rec.get("verdict")
    if not isinstance(v, dict):
        return ""
    items = []
    for r in v.get("reasons") or ():
        if not isinstance(r, dict):
            continue
        where = f' <span class="path">{_e(r.get("path"))}</span>' if r.get("path") else ""
        items.append(
            f"<li><code>{_e(r.get('rule'))}</code> {_e(r.get('outcome'))} "
            f"({_e(r.get('aspect'))}{', ' + _e(r.get('layer')) if r.get('layer') else ''}, "
            f"{_e(r.get('confidence'))}): {_e(r.get('summary'))}{where}"
            f"{'<br><small>' + _e(r.get('evidence')) + '</small>' if r.get('evidence') else ''}"
            "</li>"
        )
    return (
        f"<h4>Host verdict</h4><p>{_e(v.get('summary'))}</p>"
        f"<ul>{''.join(items) or '<li>no reasons</li>'}</ul>"
    )


def _detail(rec: Record) -> str:
    reasons = "".join(f"<li>{_e(r)}</li>" for r in rec.get("reasons") or ())
    findings = "".join(
        f"<li><code>{_e(f.code)}</code> ({_e(f.severity)}) "
        f'<span class="path">{_e(f.node_path)}</span>: {_e(f.message)}</li>'
        for f in iter_findings(rec)
    )
    s = summary_of(rec)
    facts = ", ".join(
        f"{_e(k)}: {_e(v)}"
        for k, v in (
            ("sha256", rec.get("sha256")),
            ("generation", s.get("generation")),
            ("release", s.get("release_type")),
            ("built", s.get("build_date")),
            ("parents", "; ".join(s.get("parent_meaning") or ())),
        )
        if v
    )
    return (
        "<details><summary>details</summary>"
        f"<p>{facts}</p>"
        f"<h4>Outcome reasons</h4><ul>{reasons or '<li>none</li>'}</ul>"
        f"<h4>Signatures</h4>{_signature_lines(rec)}"
        f"<h4>Catalog coverage</h4>{_coverage_lines(rec)}"
        f"<h4>Findings</h4><ul>{findings or '<li>none</li>'}</ul>"
        f"{_verdict_lines(rec)}"
        "</details>"
    )


def row_html(rec: Record) -> str:
    """The table row of one file and the row of its details."""
    r = row_of(rec)
    rank = OUTCOME_ORDER.index(r.outcome) if r.outcome in OUTCOME_ORDER else 0
    return (
        f'<tr class="file" data-outcome="{_e(r.outcome)}">'
        f'<td data-key="{rank}">{_badge(r.outcome)}</td>'
        f'<td class="path">{_e(r.path)}</td>'
        f"<td>{_e(r.kb)}</td>"
        f'<td class="num" data-key="{r.size or 0}">{_e(r.size_kb)}</td>'
        f"<td>{_e(r.os)}</td><td>{_e(r.arch)}</td><td>{_e(r.signing)}</td>"
        f"<td>{_e(r.trusted_text)}</td><td>{_e(r.coverage)}</td>"
        f'<td class="v">{_e(r.verdict)}</td>'
        f"<td>{_e(r.reasons[0] if r.reasons else '')}</td></tr>"
        f'<tr class="detail"><td colspan="11">{_detail(rec)}</td></tr>\n'
    )


def _paths(paths: Sequence[str]) -> str:
    return "".join(f'<li class="path">{_e(p)}</li>' for p in paths)


def media_html(checks: MediaChecks) -> str:
    """The offline-media checks section."""
    if checks.empty:
        return (
            "<p>No duplicates, no download-name SHA-1 mismatches, every file "
            "Microsoft-signed, no KB in several versions.</p>"
        )
    parts = []
    if checks.duplicates:
        items = "".join(
            f"<li><code>{_e(d.sha256)}</code><ul>{_paths(d.paths)}</ul></li>"
            for d in checks.duplicates
        )
        parts.append(f'<h3>Duplicates ({len(checks.duplicates)})</h3><ul id="dups">{items}</ul>')
    if checks.name_sha1_mismatches:
        items = "".join(
            f'<li><span class="path">{_e(m.path)}</span>: content SHA-1 <code>{_e(m.sha1)}</code>'
            "</li>"
            for m in checks.name_sha1_mismatches
        )
        parts.append(
            f"<h3>Download-name SHA-1 mismatches ({len(checks.name_sha1_mismatches)})</h3>"
            f"<ul>{items}</ul>"
        )
    if checks.not_microsoft_signed:
        items = "".join(
            f'<li><span class="path">{_e(n.path)}</span>: {_e(n.why)}</li>'
            for n in checks.not_microsoft_signed
        )
        parts.append(
            f"<h3>Not Microsoft-signed ({len(checks.not_microsoft_signed)})</h3><ul>{items}</ul>"
        )
    for k in checks.kb_versions:
        target = " ".join(x for x in (k.target_version, k.architecture) if x)
        items = "".join(
            f"<li>{'<strong>winner</strong> ' if c.path == k.winner else ''}"
            f'<span class="path">{_e(c.path)}</span>: identity {_e(c.identity_version or "?")}, '
            f"built {_e(c.build_date or '?')}</li>"
            for c in k.candidates
        )
        how = f"by {_e(k.decided_by)}" if k.winner else "undecided"
        parts.append(
            f"<h3>KB{_e(k.kb)} ({_e(target)}) in {len(k.candidates)} versions ({how})</h3>"
            f"<ul>{items}</ul>"
        )
    return "".join(parts)


class HtmlWriter:
    """Each file's rows are rendered as it comes (the record is not kept); the page is
    written at the end, when the summary is known."""

    def __init__(self, out: TextIO, moment: _dt.datetime | None = None) -> None:
        self.out = out
        self.moment = moment
        self.rows: list[Row] = []
        self.html: list[str] = []
        self.checks = MediaChecker()

    def add(self, record: Record) -> None:
        self.rows.append(row_of(record))
        self.html.append(row_html(record))
        self.checks.add(record)

    def close(self) -> None:
        self.out.write(page(self.rows, self.html, self.moment, self.checks.result()))


def render_html(records: Sequence[Record], *, moment: _dt.datetime | None = None) -> str:
    """The page for these file objects."""
    checker = MediaChecker()
    for r in records:
        checker.add(r)
    rows = [row_of(r) for r in records]
    return page(rows, [row_html(r) for r in records], moment, checker.result())


def page(
    rows: Sequence[Row],
    rendered: Sequence[str],
    moment: _dt.datetime | None,
    checks: MediaChecks | None = None,
) -> str:
    summary = batch_summary(rows)
    script_hash = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
    csp = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src 'sha256-{script_hash}'"
    )
    counts = "".join(f"<li>{_badge(o)} {n}</li>" for o, n in summary.by_outcome.items())
    signing = "".join(f"<li>{_e(k)}: {n}</li>" for k, n in summary.by_signing.items())
    target = "".join(f"<li>{_e(k)}: {n}</li>" for k, n in summary.by_target.items())
    options = "".join(f'<option value="{o}">{o}</option>' for o in OUTCOME_ORDER)
    when = _e(moment.isoformat() if moment else "")
    # the verdict column is there only when a verdict is (scan --host)
    hide_verdict = "" if any(r.verdict for r in rows) else ".v { display: none; }"
    media = media_html(checks or MediaChecks())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_e(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>msuinspect scan: {summary.files} file(s)</title>
<link rel="icon" href="data:,">
<style>{_STYLE}{hide_verdict}</style></head>
<body>
<h1>msuinspect scan</h1>
<p>{summary.files} file(s), validated as of {when}; msuinspect {_e(__version__)}.</p>
<h2>Summary</h2>
<div style="display:flex;gap:3em;flex-wrap:wrap">
<div><h3>Outcome</h3><ul>{counts}</ul></div>
<div><h3>Signing class</h3><ul>{signing}</ul></div>
<div><h3>Target OS</h3><ul>{target}</ul></div>
<div><h3>Signing class by build month</h3>{_chart(rows)}</div>
</div>
<h2>Offline-media checks</h2>
<div id="media">{media}</div>
<h2>Files</h2>
<p><label>Outcome <select id="outcome"><option value="">all</option>{options}</select></label>
<label>Text <input id="text" type="search" placeholder="filter"></label>
<span id="shown">{summary.files}</span> shown</p>
<table id="files"><thead><tr><th>outcome</th><th>file</th><th>KB</th>
<th class="num">size KB</th><th>OS</th><th>arch</th><th>signing</th><th>trusted</th>
<th>coverage</th><th class="v">host verdict</th><th>first reason</th></tr></thead>
<tbody>
{"".join(rendered)}</tbody></table>
<script>{_SCRIPT}</script>
</body></html>
"""
