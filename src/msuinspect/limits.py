"""Safety limits against hostile input, shared by every layer.

All limits are per top-level file: nested cabinets share their parent's output budget.
"""

from __future__ import annotations

from dataclasses import dataclass

from msuinspect.errors import LimitExceededError

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps applied while reading. Every field is configurable from the CLI."""

    #: total decompressed bytes produced for one top-level file, nested cabinets included
    #: (re-decoding for random access counts too)
    max_total_output: int = 64 * GIB
    #: maximum ratio of decompressed to compressed bytes in a folder ...
    max_ratio: float = 400.0
    #: ... enforced only once the folder has produced this many bytes
    ratio_grace: int = 32 * MIB
    #: members per cabinet (the format itself allows at most 65535)
    max_members: int = 65535
    #: bytes in a member name, excluding the terminating NUL ([MS-CAB] allows 255)
    max_name_length: int = 255
    #: nesting depth of cabinets inside cabinets (an MSU's inner CAB is depth 1)
    max_depth: int = 4
    #: how often one nested member stream may restart its decoder to seek backwards
    max_restarts: int = 256
    #: bytes of a member read wholly into memory (manifests, properties, catalogs)
    max_in_memory: int = 256 * MIB

    def __post_init__(self) -> None:
        if self.max_ratio <= 1 or self.max_total_output <= 0 or self.max_members <= 0:
            raise ValueError("limits must be positive (ratio > 1)")


class OutputBudget:
    """Counts decompressed bytes against :attr:`Limits.max_total_output`."""

    __slots__ = ("limit", "used")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def consume(self, n: int) -> None:
        self.used += n
        if self.used > self.limit:
            raise LimitExceededError(
                f"decompressed output exceeds the limit of {self.limit} bytes "
                "(raise it with --max-output)"
            )
