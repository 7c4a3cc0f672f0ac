"""The schema of ``data/servicing.toml``, checked in Python (no extra dependency).

:func:`check` returns every problem as a ``where: what`` line; an empty list means the
document is valid. The loader refuses a document with problems.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

SCHEMA_VERSION = 1
CONFIDENCES = ("confirmed", "strong", "weak")
KINDS = (
    "service-pack",
    "sha2",
    "ssu",
    "monthly-rollup",
    "preview-rollup",
    "security-only",
    "esu-prep",
    "esu-prep-check",
)
ARCHES = ("x86", "amd64", "ia64")
ROOT_IDS = ("root-authority", "2001", "2010", "2011")
THRESHOLDS = ("sha2_required_from", "esu_after", "esu_ssu_from", "premium_assurance_after")

_DATE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_DAY = re.compile(r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
_KB = re.compile(r"^KB\d{6,7}$")
_VERSION = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
_SHA1 = re.compile(r"^[0-9a-f]{40}$")
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

_UPDATE_KEYS = {
    "kb": True,
    "kind": True,
    "date": True,
    "source": True,
    "confidence": True,
    "title": False,
    "identity": False,
    "version": False,
    "revision": False,
    "stack_version": False,
    "build": False,
    "arch": False,
    "supersedes": False,
    "supersedes_source": False,
    "supersedes_confidence": False,
    "restart": False,
    "bootstrap": False,
    "note": False,
}
_ESU_KEYS = {
    "year": True,
    "through": True,
    "source": True,
    "confidence": True,
    "after": False,
    "starts": False,
    "activation_id": False,
    "azure_only": False,
    "note": False,
}
_GAP_KEYS = {"month": True, "reason": True, "source": True}
_ROOT_KEYS = {
    "id": True,
    "name": True,
    "sha1": True,
    "expires": True,
    "in_box": True,
    "source": True,
    "confidence": True,
}


def _keys(where: str, item: Mapping[str, Any], spec: Mapping[str, bool], out: list[str]) -> None:
    for key, required in spec.items():
        if required and key not in item:
            out.append(f"{where}: missing {key!r}")
    for key in item:
        if key not in spec:
            out.append(f"{where}: unknown key {key!r}")


def _str(where: str, value: Any, pattern: re.Pattern[str] | None, out: list[str]) -> None:
    if not isinstance(value, str) or not value:
        out.append(f"{where}: expected a non-empty string, got {value!r}")
    elif pattern is not None and not pattern.match(value):
        out.append(f"{where}: {value!r} does not match {pattern.pattern}")


def _sources(where: str, value: Any, known: set[str], out: list[str]) -> None:
    if not isinstance(value, list) or not value:
        out.append(f"{where}: source must be a non-empty list")
        return
    for s in value:
        if s not in known:
            out.append(f"{where}: source {s!r} is not in [sources]")


def _confidence(where: str, value: Any, out: list[str]) -> None:
    if value not in CONFIDENCES:
        out.append(f"{where}: confidence {value!r} is not one of {', '.join(CONFIDENCES)}")


def _supersedence(where: str, u: Mapping[str, Any], known: set[str], out: list[str]) -> None:
    """``supersedes`` needs its own source and confidence (often a convention, not a fact)."""
    has = "supersedes" in u
    for key in ("supersedes_source", "supersedes_confidence"):
        if has and key not in u:
            out.append(f"{where}: supersedes without {key!r}")
        if key in u and not has:
            out.append(f"{where}: {key!r} without supersedes")
    if "supersedes_source" in u:
        _sources(f"{where}.supersedes", u["supersedes_source"], known, out)
    if "supersedes_confidence" in u:
        _confidence(f"{where}.supersedes", u["supersedes_confidence"], out)


def _tables(
    doc: Mapping[str, Any], key: str, out: list[str], *, required: bool = True
) -> Iterator[tuple[int, str, Mapping[str, Any]]]:
    """The tables of the array ``key``, each with its index and place (``key[i]``); a value
    that is not an array (or, if ``required``, is missing or empty) and an item that is not a
    table are reported in ``out`` as the walk reaches them."""
    items = doc.get(key) if required else doc.get(key, [])
    if not isinstance(items, list) or (required and not items):
        out.append(f"{key}: expected an array of tables")
        return
    for i, item in enumerate(items):
        if isinstance(item, dict):
            yield i, f"{key}[{i}]", item
        else:
            out.append(f"{key}[{i}]: expected a table")


def check(doc: Mapping[str, Any]) -> list[str]:
    """Every schema problem of a parsed ``servicing.toml``."""
    out: list[str] = []
    if doc.get("schema_version") != SCHEMA_VERSION:
        out.append(f"schema_version: expected {SCHEMA_VERSION}, got {doc.get('schema_version')!r}")
    _str("data_version", doc.get("data_version"), None, out)
    sources = doc.get("sources")
    if not isinstance(sources, dict) or not sources:
        out.append("sources: expected a table of id = description")
        sources = {}
    for sid, text in sources.items():
        _str(f"sources.{sid}", text, None, out)
    known = set(sources)

    thresholds = doc.get("thresholds")
    if not isinstance(thresholds, dict):
        out.append("thresholds: expected a table")
        thresholds = {}
    for name in THRESHOLDS:
        t = thresholds.get(name)
        if not isinstance(t, dict):
            out.append(f"thresholds.{name}: missing")
            continue
        _str(f"thresholds.{name}.value", t.get("value"), _DATE, out)
        _sources(f"thresholds.{name}", t.get("source"), known, out)
        _confidence(f"thresholds.{name}", t.get("confidence"), out)
    for name in thresholds:
        if name not in THRESHOLDS:
            out.append(f"thresholds.{name}: unknown threshold")

    updates = doc.get("update")
    if not isinstance(updates, list) or not updates:
        out.append("update: expected an array of tables")
        updates = []
    seen: set[str] = set()
    for i, u in enumerate(updates):
        where = f"update[{i}]"
        if not isinstance(u, dict):
            out.append(f"{where}: expected a table")
            continue
        kb = u.get("kb")
        where = f"update[{i}] {kb}"
        _keys(where, u, _UPDATE_KEYS, out)
        _str(f"{where}.kb", kb, _KB, out)
        if isinstance(kb, str):
            if kb in seen:
                out.append(f"{where}: duplicate kb")
            seen.add(kb)
        if u.get("kind") not in KINDS:
            out.append(f"{where}: kind {u.get('kind')!r} is not one of {', '.join(KINDS)}")
        date = u.get("date")
        if date != "unknown":
            _str(f"{where}.date", date, _DATE, out)
        for key, pat in (
            ("title", None),
            ("identity", None),
            ("note", None),
            ("version", _VERSION),
            ("stack_version", _VERSION),
            ("build", _VERSION),
        ):
            if key in u:
                _str(f"{where}.{key}", u[key], pat, out)
        if "revision" in u and (not isinstance(u["revision"], int) or u["revision"] < 1):
            out.append(f"{where}.revision: expected a positive integer")
        for key in ("restart", "bootstrap"):
            if key in u and not isinstance(u[key], bool):
                out.append(f"{where}.{key}: expected true or false")
        if "arch" in u and (
            not isinstance(u["arch"], list) or any(a not in ARCHES for a in u["arch"])
        ):
            out.append(f"{where}.arch: expected a list of {', '.join(ARCHES)}")
        _sources(where, u.get("source"), known, out)
        _confidence(where, u.get("confidence"), out)
    for i, u in enumerate(updates):
        if isinstance(u, dict):
            for s in u.get("supersedes", []) if isinstance(u.get("supersedes"), list) else []:
                if s not in seen:
                    out.append(f"update[{i}] {u.get('kb')}.supersedes: {s!r} is not an entry")
            if "supersedes" in u and not isinstance(u["supersedes"], list):
                out.append(f"update[{i}] {u.get('kb')}.supersedes: expected a list")
            _supersedence(f"update[{i}] {u.get('kb')}", u, known, out)

    gap_months: set[str] = set()
    for _i, where, g in _tables(doc, "rollup_gap", out, required=False):
        _keys(where, g, _GAP_KEYS, out)
        _str(f"{where}.month", g.get("month"), _MONTH, out)
        _str(f"{where}.reason", g.get("reason"), None, out)
        _sources(where, g.get("source"), known, out)
        month = g.get("month")
        if isinstance(month, str):
            if month in gap_months:
                out.append(f"{where}: duplicate month {month}")
            gap_months.add(month)
            for u in updates:
                if (
                    isinstance(u, dict)
                    and u.get("kind") == "monthly-rollup"
                    and str(u.get("date", "")).startswith(month)
                ):
                    out.append(f"{where}: {month} has a monthly rollup ({u.get('kb')})")

    for i, where, y in _tables(doc, "esu_year", out):
        _keys(where, y, _ESU_KEYS, out)
        if y.get("year") != i + 1:
            out.append(f"{where}: years must be 1, 2, 3... in order")
        if ("after" in y) == ("starts" in y):
            out.append(f"{where}: exactly one of 'after' and 'starts'")
        for key in ("after", "starts", "through"):
            if key in y:
                _str(f"{where}.{key}", y[key], _DAY, out)
        if "activation_id" in y:
            _str(f"{where}.activation_id", y["activation_id"], _GUID, out)
        if "azure_only" in y and not isinstance(y["azure_only"], bool):
            out.append(f"{where}.azure_only: expected true or false")
        _sources(where, y.get("source"), known, out)
        _confidence(where, y.get("confidence"), out)

    for _i, where, r in _tables(doc, "root", out):
        _keys(where, r, _ROOT_KEYS, out)
        if r.get("id") not in ROOT_IDS:
            out.append(f"{where}: id {r.get('id')!r} is not one of {', '.join(ROOT_IDS)}")
        _str(f"{where}.name", r.get("name"), None, out)
        _str(f"{where}.sha1", r.get("sha1"), _SHA1, out)
        _str(f"{where}.expires", r.get("expires"), _DAY, out)
        if not isinstance(r.get("in_box"), bool):
            out.append(f"{where}.in_box: expected true or false")
        _sources(where, r.get("source"), known, out)
        _confidence(where, r.get("confidence"), out)
    for key in doc:
        if key not in (
            "schema_version",
            "data_version",
            "description",
            "sources",
            "thresholds",
            "update",
            "esu_year",
            "root",
            "rollup_gap",
        ):
            out.append(f"{key}: unknown top-level key")
    return out
