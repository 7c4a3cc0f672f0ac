"""Safety limits against hostile input, shared by every layer.

All limits are per top-level file: nested cabinets share their parent's budget, so the
whole file's work is bounded by its own size (see ``docs/security.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

from msuinspect.errors import LimitExceededError

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB

#: the deepest nesting msuinspect accepts at all. Reading a cabinet nested N levels deep
#: from a replayed stream chains about 7 Python frames per level; at this depth that stays
#: far below Python's recursion limit (proven by tests/test_hostile.py at this depth).
MAX_SAFE_DEPTH = 32


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps applied while reading. Every field is configurable from the CLI."""

    #: total decompressed bytes produced for one top-level file, nested cabinets included
    #: (re-decoding for random access counts too), whatever its size
    max_total_output: int = 64 * GIB
    #: total decompressed bytes, and total bytes written by ``extract``, per top-level file:
    #: at most this many times the file's size ...
    max_expansion: float = 100.0
    #: ... or this many bytes, whichever is more (small files)
    expansion_floor: int = 64 * MIB
    #: maximum ratio of decompressed to compressed bytes in a folder ...
    max_ratio: float = 400.0
    #: ... enforced only once the folder has produced this many bytes
    ratio_grace: int = 32 * MIB
    #: members per cabinet (the format itself allows at most 65535)
    max_members: int = 65535
    #: bytes in a member name, excluding the terminating NUL ([MS-CAB] allows 255)
    max_name_length: int = 255
    #: nesting depth of cabinets inside cabinets (an MSU's inner CAB is depth 1); at most
    #: :data:`MAX_SAFE_DEPTH`
    max_depth: int = 4
    #: how often one nested member stream may restart its decoder to seek backwards
    max_restarts: int = 256
    #: bytes of a member read wholly into memory (manifests, properties, catalogs); also
    #: the bytes of nested cabinets a listing or extraction holds in memory at once
    max_in_memory: int = 256 * MIB
    #: folders sharing CFDATA blocks and members sharing bytes are reported as warnings
    #: instead of errors (real Microsoft cabinets never do either)
    allow_shared_data: bool = False

    def __post_init__(self) -> None:
        if self.max_ratio <= 1 or self.max_total_output <= 0 or self.max_members <= 0:
            raise ValueError("limits must be positive (ratio > 1)")
        if self.max_expansion <= 1 or self.expansion_floor <= 0:
            raise ValueError("the expansion limit must be above 1 and its floor positive")
        if not 0 <= self.max_depth <= MAX_SAFE_DEPTH:
            raise ValueError(f"max_depth must be between 0 and {MAX_SAFE_DEPTH}")

    def work_cap(self, input_size: int) -> int:
        """Bytes a file of ``input_size`` bytes may decode, and may have written, in all."""
        relative = max(self.expansion_floor, int(self.max_expansion * max(input_size, 0)))
        return min(self.max_total_output, relative)

    def budget(self, input_size: int) -> OutputBudget:
        """A fresh budget for one top-level file of ``input_size`` bytes."""
        cap = self.work_cap(input_size)
        return OutputBudget(cap, written_limit=cap, input_size=input_size)


class OutputBudget:
    """Counts the work done for one top-level file: decompressed bytes (every folder, every
    nesting level, every re-decode) and bytes written by extraction."""

    __slots__ = ("held", "input_size", "limit", "used", "written", "written_limit")

    def __init__(
        self, limit: int, *, written_limit: int | None = None, input_size: int | None = None
    ) -> None:
        self.limit = limit
        self.used = 0
        self.written_limit = limit if written_limit is None else written_limit
        self.written = 0
        self.input_size = input_size
        #: bytes of nested cabinets currently held in memory by a listing or extraction
        self.held = 0

    def _what(self) -> str:
        if self.input_size is None:
            return f"the limit of {self.limit} bytes"
        return f"the limit of {self.limit} bytes for a file of {self.input_size} bytes"

    def consume(self, n: int) -> None:
        self.used += n
        if self.used > self.limit:
            raise LimitExceededError(
                f"decompressed output exceeds {self._what()} (nested cabinets and shared "
                "data included; raise it with --max-expansion, --expansion-floor or "
                "--max-output)"
            )

    def consume_written(self, n: int) -> None:
        self.written += n
        if self.written > self.written_limit:
            lim = self.written_limit
            size = f" for a file of {self.input_size} bytes" if self.input_size is not None else ""
            raise LimitExceededError(
                f"extracted bytes exceed the limit of {lim} bytes{size} (members sharing data "
                "included; raise it with --max-expansion, --expansion-floor or --max-output)"
            )

    def hold(self, n: int, cap: int) -> bool:
        """Reserve ``n`` bytes of memory for a nested cabinet if ``cap`` allows."""
        if self.held + n > cap:
            return False
        self.held += n
        return True

    def release(self, n: int) -> None:
        self.held = max(0, self.held - n)
