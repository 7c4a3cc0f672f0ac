"""Errors of the host layer: bad ``--host`` specs and unusable evidence files."""

from __future__ import annotations

from msuinspect.errors import MsuInspectError


class HostSpecError(MsuInspectError):
    """A ``--host`` value, preset name or TOML profile cannot be read."""

    code = "host-spec"


class EvidenceError(MsuInspectError):
    """An evidence file cannot be used: not recognised, truncated, binary, contradictory."""

    code = "host-evidence"


class NotA60HostError(EvidenceError):
    """The evidence describes a Windows version other than 6.0 (Vista / Server 2008)."""

    code = "not-6.0-host"
