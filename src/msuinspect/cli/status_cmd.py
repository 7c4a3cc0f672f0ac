"""``msuinspect host status EVIDENCE-or-PROFILE... [--packages DIR] [--json]``.

The exact servicing and ESU status of a Windows Server 2008 SP2 host and its next steps,
each statement with its evidence and source (docs/host-status.md). The ``host`` group
(cli/host.py) registers it as ``host status``.

Exit status: 0 the status was made; 1 the evidence could not be used (e.g. not a 6.0
host), or a package file could not be read completely (an ``error`` outcome); 2 usage
error; 70 internal error.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from msuinspect import (
    MAX_EVIDENCE_BYTES,
    EvidenceError,
    HostProfile,
    InputError,
    MsuInspectError,
    Outcome,
    PackageCandidate,
    PackageMatches,
    TrustStore,
    candidate,
    host_status,
    import_evidence,
    inspect,
    iter_inputs,
    load_certificates,
    load_host,
    load_knowledge_base,
    match_packages,
    read_user_file,
)
from msuinspect.cli.common import EXIT_INTERNAL, _debug, _error, echo_json
from msuinspect.report import status_json, status_text
from msuinspect.report.terminal import printable

#: package files looked for in --packages DIR
PACKAGE_SUFFIXES = frozenset({".msu", ".cab"})


def _is_profile(value: str) -> bool:
    """A ``--host`` style value (TOML profile, preset, key=value list), not an evidence file."""
    low = value.casefold()
    if low.endswith(".toml") or low.startswith("preset:"):
        return True
    return "=" in value and not Path(value).exists()


def read_evidence_file(path: str) -> bytes:
    """The bytes of an evidence file the user named: a regular file of at most
    :data:`MAX_EVIDENCE_BYTES` (64 MiB), checked before it is opened and never blocking
    (:func:`msuinspect.read_user_file`). Raises :class:`InputError` carrying ``path``."""
    return read_user_file(path, limit=MAX_EVIDENCE_BYTES, what="host evidence")


def _fail(message: str, code: str) -> None:
    click.echo(f"msuinspect: error: {printable(message)} [{code}]", err=True)


def load_profile(inputs: tuple[str, ...]) -> HostProfile:
    """The host profile from evidence files, or from one profile / ``--host`` value."""
    profiles = [i for i in inputs if _is_profile(i)]
    if profiles:
        if len(inputs) > 1:
            raise click.UsageError(
                "give either evidence files or one profile (FILE.toml, preset:NAME, key=value)"
            )
        return load_host(profiles[0])
    files: list[tuple[str, bytes]] = []
    for f in inputs:
        try:
            files.append((f, read_evidence_file(f)))
        except InputError as exc:
            raise EvidenceError(exc.message, path=f) from None
    return import_evidence(files).profile


def _candidates(
    folder: str, profile: HostProfile, trust: TrustStore
) -> tuple[list[PackageCandidate], bool]:
    kb = load_knowledge_base()
    out: list[PackageCandidate] = []
    failed = False

    def on_unlistable(path: str, exc: OSError) -> None:
        nonlocal failed
        failed = True
        _fail(f"{path}: cannot list: {exc.strerror or exc}", "input-error")

    for path in iter_inputs([folder], suffixes=PACKAGE_SUFFIXES, on_error=on_unlistable):
        report = inspect(path, trust=trust)
        out.append(candidate(path, report.package, report.outcome, profile, kb))
        if report.package is None or report.outcome.outcome is Outcome.ERROR:
            failed = True  # not read completely (truncated, undecodable): as plan does
    return out, failed


@click.command(
    "status",
    epilog="\b\nExit status:\n  0   the status was made\n"
    "  1   the evidence cannot be used (not a Windows 6.0 host, unreadable...), or a\n"
    "      package in --packages could not be read completely (an 'error' outcome:\n"
    "      truncated, undecodable)\n  2   usage error\n"
    "  70  internal error (a bug)",
)
@click.argument("inputs", nargs=-1, required=True, metavar="EVIDENCE-or-PROFILE...")
@click.option(
    "--packages",
    "packages_dir",
    type=click.Path(exists=True, file_okay=False),
    help="match each next step to the .msu/.cab packages in this folder",
)
@click.option(
    "--trust-root",
    "trust_roots",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="an extra trusted root (PEM/DER) for --packages; counts as on the host",
)
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def status_cmd(
    inputs: tuple[str, ...], packages_dir: str | None, trust_roots: tuple[str, ...], as_json: bool
) -> None:
    """The servicing and ESU status of a 2008 SP2 host and its next steps.

    Give the host's evidence files (systeminfo, wmic qfe, reg query, certutil, slmgr, a
    collector file) or one profile (host.toml, preset:NAME, key=value list).
    """
    try:
        profile = load_profile(inputs)
    except EvidenceError as exc:
        _fail(str(exc), exc.code)
        sys.exit(1)
    except MsuInspectError as exc:  # a bad profile or --host value
        raise click.UsageError(f"{printable(str(exc))} [{exc.code}]") from exc
    try:
        kb = load_knowledge_base()
        extra = [c for p in trust_roots for c in load_certificates(p)]
    except MsuInspectError as exc:
        raise click.UsageError(f"{printable(str(exc))} [{exc.code}]") from exc
    status = host_status(profile, kb)
    matches: PackageMatches | None = None
    failed = False
    if packages_dir is not None:
        trust = TrustStore.default(extra)
        try:
            found, failed = _candidates(packages_dir, profile, trust)
        except Exception as exc:  # a bug: one line, exit 70
            if _debug():
                raise
            _error(packages_dir, exc)
            sys.exit(EXIT_INTERNAL)
        matches = match_packages(packages_dir, status, found, kb)
    if as_json:
        echo_json(status_json.status_dict(status, profile, matches))
    else:
        click.echo(status_text.render_status(status, matches), nl=False)
    if failed:
        sys.exit(1)
