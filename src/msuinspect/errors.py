"""The one exception tree of msuinspect.

Every error the library raises on purpose derives from :class:`MsuInspectError`. Each class
carries a stable ``code`` (used in JSON reports and exit messages) and, where it makes sense,
the byte ``offset`` in the file at which parsing failed.
"""

from __future__ import annotations


class MsuInspectError(Exception):
    """Root of all msuinspect errors."""

    code = "error"

    def __init__(self, message: str, *, offset: int | None = None, path: str | None = None):
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.path = path

    def __str__(self) -> str:
        where = []
        if self.path:
            where.append(self.path)
        if self.offset is not None:
            where.append(f"offset {self.offset} (0x{self.offset:x})")
        prefix = f"{': '.join(where)}: " if where else ""
        return f"{prefix}{self.message}"

    def with_path(self, path: str) -> MsuInspectError:
        """Attach the node path (``outer.msu!/inner.cab``) if none is set yet."""
        if self.path is None:
            self.path = path
        return self


class InputError(MsuInspectError):
    """The input cannot be read at all (missing, unreadable, not a regular file)."""

    code = "input-error"


class FormatError(MsuInspectError):
    """The bytes do not follow the format they claim to be."""

    code = "format-error"


class CabFormatError(FormatError):
    """A cabinet structure ([MS-CAB]) is malformed."""

    code = "cab-format"


class NotACabinetError(CabFormatError):
    """No ``MSCF`` header where a cabinet was expected."""

    code = "not-a-cabinet"


class TruncatedError(CabFormatError):
    """The file ends inside a structure."""

    code = "truncated"


class ChecksumError(CabFormatError):
    """A CFDATA block's checksum does not match its bytes."""

    code = "cfdata-checksum"


class CabinetSetError(CabFormatError):
    """A multi-volume cabinet set is incomplete or inconsistent."""

    code = "cabinet-set"


class DecodeError(MsuInspectError):
    """Compressed data could not be decoded."""

    code = "decode-error"


class CodecError(DecodeError):
    """One decoder backend failed; another backend may still succeed."""

    code = "codec-error"


class UnsupportedError(MsuInspectError):
    """A valid feature this build cannot handle."""

    code = "unsupported"


class UnsupportedCompressionError(UnsupportedError):
    """No available decoder supports the folder's compression type."""

    code = "unsupported-compression"


class LimitExceededError(MsuInspectError):
    """A configured safety limit (output size, ratio, count, depth, name length) was hit."""

    code = "limit-exceeded"


class UnsafePathError(MsuInspectError):
    """An extraction target would leave the output folder or follow a link."""

    code = "unsafe-path"


class OutputError(MsuInspectError):
    """Writing to the output folder failed."""

    code = "output-error"
