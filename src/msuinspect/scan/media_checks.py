"""Checks across the files of a batch (offline media: a DVD, a USB stick, a download folder).

One file's report cannot say that the same bytes are on the medium twice, or that an older
build of the same KB sits next to a newer one. :class:`MediaChecker` takes every file object
of a scan (the JSON file objects of docs/json-schema.md, cached or new), keeps a few facts
of each (not the object), and :meth:`MediaChecker.result` gives four lists:

* **duplicates**: one SHA-256 under several names (a copy is harmless, but wastes space and
  can hide which name a tool picks);
* **download-name SHA-1 mismatches**: a Microsoft Update Catalog download name
  (``…_<40 hex>.msu``) whose SHA-1 is not the file's (the package summary's
  ``download_name_sha1`` is ``mismatch``);
* **not Microsoft-signed**: a file that was read but carries no signature, on itself or on
  any node inside it, whose signer class is a Microsoft one (``microsoft-windows``,
  ``microsoft``, ``microsoft-hardware``: the chain verified to a shipped Microsoft root) with a
  valid digest and signature value;
* **KB versions**: the same KB for the same architecture and target Windows version in
  several different files (by content). The winner is the one with the highest package
  identity version (the highest version among the package's identities); when those are
  equal, the latest package build day; when both are equal (or missing), no winner is
  named (``decided_by: "undecided"``: typically an MSU and its own inner cabinet, or the
  same build signed twice).

The checks are pure: the same records in any order give the same result (lists are sorted).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from msuinspect.scan.records import Record

MICROSOFT_CLASSES = frozenset({"microsoft-windows", "microsoft", "microsoft-hardware"})

DECIDED_BY_VERSION = "package identity version"
DECIDED_BY_BUILD_DATE = "build date"
UNDECIDED = "undecided"
#: the only candidate whose outcome is ok or warning (the others are problems or errors)
DECIDED_BY_TRUST = "the only trustworthy copy"


def identity_version(identity: str) -> tuple[int, ...] | None:
    """``Package_for_KB1~31bf3856ad364e35~amd64~~6.0.1.3`` -> ``(6, 0, 1, 3)``."""
    parts = identity.split("~")
    if len(parts) < 5:
        return None
    try:
        return tuple(int(p) for p in parts[4].split("."))
    except ValueError:
        return None


def _version_text(version: tuple[int, ...] | None) -> str | None:
    return None if version is None else ".".join(str(v) for v in version)


@dataclass(frozen=True, slots=True)
class _Facts:
    """What the checks need from one file object."""

    order: int
    path: str
    sha256: str | None
    sha1: str | None
    name_sha1: str | None
    read: bool
    microsoft_signed: bool
    signer_classes: tuple[str, ...]
    signed: bool
    kbs: tuple[str, ...]
    architecture: str
    target_version: str
    version: tuple[int, ...] | None
    build_date: str
    #: its outcome is ok or warning: a file the batch may act on
    usable: bool = False


def facts_of(order: int, record: Record) -> _Facts:
    package = record.get("package") or {}
    summary = package.get("summary") if isinstance(package, dict) else None
    s: dict[str, Any] = summary if isinstance(summary, dict) else {}
    # the file's own signatures: a Microsoft signature on a member (a WSUSSCAN.cab, a
    # catalog carried over into a repacked cabinet) says nothing of the file around it
    sigs = [x for x in record.get("signatures") or () if isinstance(x, dict)]
    classes = sorted({str(x.get("signer_class") or "other") for x in sigs})
    primary = next((x for x in sigs if not x.get("nested") and x.get("parent") is None), None)
    ms = (
        primary is not None
        and primary.get("signer_class") in MICROSOFT_CLASSES
        and primary.get("digest_valid") is True
        and primary.get("signature_valid") is True
        and primary.get("trusted") is True
    )
    versions = [v for i in s.get("package_identities") or () if (v := identity_version(str(i)))]
    sha = record.get("sha256")
    sha1 = record.get("sha1")
    return _Facts(
        order=order,
        path=str(record.get("path", "")),
        sha256=sha if isinstance(sha, str) else None,
        sha1=sha1 if isinstance(sha1, str) else None,
        name_sha1=s.get("download_name_sha1"),
        read=record.get("kind") is not None,
        microsoft_signed=ms,
        signer_classes=tuple(classes),
        signed=bool(sigs),
        kbs=tuple(str(k) for k in s.get("kb_numbers") or ()),
        architecture=str(s.get("architecture") or ""),
        target_version=str(s.get("target_version") or ""),
        version=max(versions) if versions else None,
        build_date=str(s.get("build_date") or ""),
        usable=record.get("outcome") in ("ok", "warning"),
    )


@dataclass(frozen=True, slots=True)
class Duplicate:
    sha256: str
    paths: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NameMismatch:
    path: str
    #: the file's own SHA-1 (the name claims another)
    sha1: str | None


@dataclass(frozen=True, slots=True)
class NotMicrosoftSigned:
    path: str
    #: signer classes of every signature in the file ("" when it has none)
    signer_classes: tuple[str, ...]

    @property
    def why(self) -> str:
        if not self.signer_classes:
            return "unsigned"
        return "signed only by " + ", ".join(self.signer_classes)


@dataclass(frozen=True, slots=True)
class KbCandidate:
    path: str
    sha256: str | None
    identity_version: str | None
    build_date: str | None


@dataclass(frozen=True, slots=True)
class KbVersions:
    kb: str
    architecture: str
    target_version: str
    candidates: tuple[KbCandidate, ...]
    winner: str | None
    decided_by: str


@dataclass(frozen=True, slots=True)
class MediaChecks:
    duplicates: tuple[Duplicate, ...] = ()
    name_sha1_mismatches: tuple[NameMismatch, ...] = ()
    not_microsoft_signed: tuple[NotMicrosoftSigned, ...] = ()
    kb_versions: tuple[KbVersions, ...] = ()

    @property
    def empty(self) -> bool:
        return not (
            self.duplicates
            or self.name_sha1_mismatches
            or self.not_microsoft_signed
            or self.kb_versions
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``media_checks`` object of the scan summary (docs/batch.md)."""
        return {
            "duplicates": [{"sha256": d.sha256, "paths": list(d.paths)} for d in self.duplicates],
            "download_name_sha1_mismatches": [
                {"path": m.path, "sha1": m.sha1} for m in self.name_sha1_mismatches
            ],
            "not_microsoft_signed": [
                {"path": n.path, "signer_classes": list(n.signer_classes), "why": n.why}
                for n in self.not_microsoft_signed
            ],
            "kb_versions": [
                {
                    "kb": k.kb,
                    "architecture": k.architecture,
                    "target_version": k.target_version,
                    "versions": [
                        {
                            "path": c.path,
                            "sha256": c.sha256,
                            "identity_version": c.identity_version,
                            "build_date": c.build_date,
                        }
                        for c in k.candidates
                    ],
                    "winner": k.winner,
                    "decided_by": k.decided_by,
                }
                for k in self.kb_versions
            ],
        }


@dataclass(slots=True)
class MediaChecker:
    """Feed every file object with :meth:`add`; read :meth:`result` at the end."""

    _facts: list[_Facts] = field(default_factory=list)

    def add(self, record: Record) -> None:
        self._facts.append(facts_of(len(self._facts), record))

    def result(self) -> MediaChecks:
        return check(self._facts)


def media_checks(records: list[Record]) -> MediaChecks:
    """The checks over these file objects."""
    return check([facts_of(i, r) for i, r in enumerate(records)])


def check(facts: list[_Facts]) -> MediaChecks:
    by_sha: dict[str, list[str]] = defaultdict(list)
    for f in facts:
        if f.sha256 is not None:
            by_sha[f.sha256].append(f.path)
    duplicates = tuple(
        Duplicate(sha, tuple(sorted(paths)))
        for sha, paths in sorted(by_sha.items(), key=lambda kv: sorted(kv[1])[0])
        if len(paths) > 1
    )
    mismatches = tuple(
        NameMismatch(f.path, f.sha1)
        for f in sorted(facts, key=lambda f: f.path)
        if f.name_sha1 == "mismatch"
    )
    not_ms = tuple(
        NotMicrosoftSigned(f.path, f.signer_classes)
        for f in sorted(facts, key=lambda f: f.path)
        if f.read and not f.microsoft_signed
    )
    return MediaChecks(duplicates, mismatches, not_ms, _kb_versions(facts))


def _kb_versions(facts: list[_Facts]) -> tuple[KbVersions, ...]:
    groups: dict[tuple[str, str, str], dict[str, _Facts]] = defaultdict(dict)
    for f in facts:
        for kb in f.kbs:
            key = (kb, f.architecture, f.target_version)
            # one candidate per content: a duplicate is not another version
            content = f.sha256 or f"path:{f.path}"
            prev = groups[key].get(content)
            if prev is None or f.path < prev.path:
                groups[key][content] = f
    out: list[KbVersions] = []
    for (kb, arch, target), by_content in sorted(groups.items(), key=lambda kv: _kb_key(kv[0])):
        if len(by_content) < 2:
            continue
        cands = sorted(by_content.values(), key=lambda f: f.path)
        winner, decided_by = _winner(cands)
        out.append(
            KbVersions(
                kb,
                arch,
                target,
                tuple(
                    KbCandidate(c.path, c.sha256, _version_text(c.version), c.build_date or None)
                    for c in cands
                ),
                winner,
                decided_by,
            )
        )
    return tuple(out)


def _kb_key(key: tuple[str, str, str]) -> tuple[int, str, str, str]:
    kb, arch, target = key
    return (int(kb) if kb.isdigit() else 0, kb, target, arch)


def _winner(every: list[_Facts]) -> tuple[str | None, str]:
    """Among the files the batch may act on (outcome ok or warning: an unsigned or altered
    copy never wins), the highest identity version; then the latest build date; else none."""
    cands = [c for c in every if c.usable]
    if not cands:
        return None, UNDECIDED
    if len(cands) == 1:
        return cands[0].path, DECIDED_BY_TRUST
    versions = [c.version for c in cands]
    if all(v is not None for v in versions):
        best = max(v for v in versions if v is not None)
        top = [c for c in cands if c.version == best]
        if len(top) == 1:
            return top[0].path, DECIDED_BY_VERSION
    else:
        top = cands
    # identity versions equal (or not all known): the build day decides (an MSU gives its
    # build date as a day, its inner cabinet as a moment: the same build either way)
    dated = [c for c in top if c.build_date]
    if len(dated) == len(top):
        latest = max(c.build_date[:10] for c in dated)
        newest = [c for c in dated if c.build_date[:10] == latest]
        if len(newest) == 1:
            return newest[0].path, DECIDED_BY_BUILD_DATE
    return None, UNDECIDED
