"""Member names: decoding, classification of dangerous forms, and sanitising.

CFFILE names are arbitrary byte strings. A name is UTF-8 when the member has attribute
0x80, otherwise it is in an unspecified code page; like cabextract we show such names as
ISO-8859-1, which maps every byte to one character and so loses nothing.

:func:`classify` tells why a name is not a plain relative path. :func:`sanitise` maps any
name to a relative, '/'-separated path that cannot leave the folder it is created in, on
Linux or on Windows.
"""

from __future__ import annotations

import re

#: Windows device names, which refer to devices whatever their extension
DEVICE_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"}
    | {f"COM{i}" for i in range(10)}
    | {f"LPT{i}" for i in range(10)}
    | {"COM¹", "COM²", "COM³", "LPT¹", "LPT²", "LPT³"}
)

FLAG_ABSOLUTE = "absolute"
FLAG_DRIVE = "drive-letter"
FLAG_UNC = "unc-path"
FLAG_DOTDOT = "dotdot"
FLAG_NUL = "nul"
FLAG_CONTROL = "control-character"
FLAG_STREAM = "alternate-stream"
FLAG_DEVICE = "device-name"
FLAG_BAD_ENCODING = "invalid-utf8"
FLAG_EMPTY = "empty"
FLAG_WINDOWS_TRIM = "trailing-dot-or-space"
FLAG_RESERVED_CHAR = "reserved-character"
#: a Unicode bidirectional control: shows a name in another order than it is
#: (``invoice\u202etxt.exe`` reads "invoiceexe.txt")
FLAG_BIDI = "bidi-control"

_DRIVE = re.compile(r"^[A-Za-z]:")
_RESERVED = re.compile(r'[<>:"|?*]')
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
#: longest path segment most filesystems accept, in bytes of UTF-8
_MAX_SEGMENT = 255


_C = r"[A-Za-z0-9_\-+~$#@!&'(),;=\[\]{}%]"
_SEG = rf"{_C}+(?:\.+{_C}+)*"
#: names made only of ordinary characters, single dots inside segments and single
#: separators: nothing to flag, nothing to change but separators (the common case)
_PLAIN = re.compile(rf"{_SEG}(?:[\\/]{_SEG})*")
#: a segment that is a device name (before any extension), as :data:`DEVICE_NAMES` lists them
_DEVICE_SEGMENT = re.compile(
    r"(?:^|[\\/])(?:"
    + "|".join(re.escape(d) for d in sorted(DEVICE_NAMES, key=len, reverse=True))
    + r")(?:\.|[\\/]|$)",
    re.IGNORECASE,
)


_LONGEST_DEVICE = max(len(d) for d in DEVICE_NAMES)
#: folder parts of plain names already checked for device segments (members of one cabinet
#: share a few folders); cleared when full
_FOLDER_HAS_DEVICE: dict[str, bool] = {}
#: folders remembered at most (a large update cabinet has some thousands)
_FOLDER_CACHE = 1 << 15


#: first letters of the device names, both cases (plain names are ASCII)
_DEVICE_INITIALS = frozenset(c for d in DEVICE_NAMES for c in (d[0], d[0].lower()))


def _is_device_stem(segment: str) -> bool:
    if segment[:1] not in _DEVICE_INITIALS:  # most segments: a digit, or another letter
        return False
    stem = segment.partition(".")[0]
    return len(stem) <= _LONGEST_DEVICE and stem.upper() in DEVICE_NAMES


def _has_device_segment(unified: str) -> bool:
    """Whether a plain '/'-separated name has a segment whose part before the first dot is a
    device name (what :data:`_DEVICE_SEGMENT` finds, for names :data:`_PLAIN` accepts)."""
    folder, _, last = unified.rpartition("/")
    if folder:
        hit = _FOLDER_HAS_DEVICE.get(folder)
        if hit is None:
            hit = any(_is_device_stem(seg) for seg in folder.split("/"))
            if len(_FOLDER_HAS_DEVICE) >= _FOLDER_CACHE:
                _FOLDER_HAS_DEVICE.clear()
            _FOLDER_HAS_DEVICE[folder] = hit
        if hit:
            return True
    return _is_device_stem(last)


def analyse(name: str, index: int, *, valid_encoding: bool = True) -> tuple[frozenset[str], str]:
    """(:func:`classify`, :func:`sanitise`) of a name, with a fast path for plain names:
    :data:`_PLAIN` and no device segment (tested segment by segment, folders once: the
    regular expression is several times slower on the long names of update packages)."""
    if valid_encoding and len(name) <= _MAX_SEGMENT and _PLAIN.fullmatch(name):
        unified = name.replace("\\", "/")
        if not _has_device_segment(unified):
            return _NO_FLAGS, unified
    return classify(name, valid_encoding=valid_encoding), sanitise(name, index)


_NO_FLAGS: frozenset[str] = frozenset()
#: :data:`_PLAIN` on the raw bytes (it accepts ASCII only, which both encodings agree on)
_PLAIN_BYTES = re.compile(_PLAIN.pattern.encode("ascii"))


def name_facts(raw: bytes, is_utf8: bool, index: int) -> tuple[str, frozenset[str], str]:
    """(text, flags, safe name) of a raw CFFILE name: :func:`decode_name`, then
    :func:`analyse`. A plain ASCII name is checked on its bytes and decoded once."""
    if len(raw) <= _MAX_SEGMENT and _PLAIN_BYTES.fullmatch(raw):
        text = raw.decode("ascii")
        unified = text.replace("\\", "/")
        if not _has_device_segment(unified):
            return text, _NO_FLAGS, unified
    text, valid = decode_name(raw, is_utf8)
    flags, safe = analyse(text, index, valid_encoding=valid)
    return text, flags, safe


def decode_name(raw: bytes, is_utf8: bool) -> tuple[str, bool]:
    """Return (text, valid). Invalid UTF-8 sequences become U+FFFD."""
    if is_utf8:
        try:
            return raw.decode("utf-8"), True
        except UnicodeDecodeError:
            return raw.decode("utf-8", errors="replace"), False
    return raw.decode("latin-1"), True


def classify(name: str, *, valid_encoding: bool = True) -> frozenset[str]:
    """Flags describing what makes ``name`` more than a plain relative path."""
    flags: set[str] = set()
    if not valid_encoding:
        flags.add(FLAG_BAD_ENCODING)
    if "\x00" in name:
        flags.add(FLAG_NUL)
    if _CONTROL.search(name.replace("\x00", "")):
        flags.add(FLAG_CONTROL)
    if _BIDI.search(name):
        flags.add(FLAG_BIDI)
    unified = name.replace("\\", "/")
    if unified.startswith("//"):
        flags.add(FLAG_UNC)
    elif unified.startswith("/"):
        flags.add(FLAG_ABSOLUTE)
    rest = unified
    if _DRIVE.match(unified):
        flags.add(FLAG_DRIVE)
        rest = unified[2:]
    segments = [s for s in rest.split("/") if s != ""]
    if not segments or all(s == "." for s in segments):
        flags.add(FLAG_EMPTY)
    for seg in segments:
        if seg == "..":
            flags.add(FLAG_DOTDOT)
            continue
        if seg == ".":
            continue
        if ":" in seg:
            flags.add(FLAG_STREAM)
        if _RESERVED.search(seg.replace(":", "")):
            flags.add(FLAG_RESERVED_CHAR)
        if _is_device(seg):
            flags.add(FLAG_DEVICE)
        if seg != seg.rstrip(". "):
            flags.add(FLAG_WINDOWS_TRIM)
    return frozenset(flags)


def _truncate(segment: str, limit: int) -> str:
    while len(segment.encode("utf-8", errors="surrogatepass")) > limit:
        segment = segment[:-1]
    return segment


def _is_device(segment: str) -> bool:
    base = segment.split(".", 1)[0].rstrip(" ").upper()
    return base in DEVICE_NAMES


def sanitise(name: str, index: int) -> str:
    """A relative path that is safe to create under an output folder.

    Rules (documented in docs/user-guide.md): backslashes become '/', leading '/' and drive
    prefixes are dropped, empty and '.' segments are dropped, '..' becomes '__', control,
    bidirectional-control and reserved characters (``<>:"|?*``) become '_', trailing
    dots/spaces become '_', device
    names get a leading '_'. An empty result becomes ``_unnamed_<index>``.
    """
    unified = name.replace("\\", "/")
    if _DRIVE.match(unified):
        unified = unified[2:]
    out: list[str] = []
    for seg in unified.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            out.append("__")
            continue
        seg = _CONTROL.sub("_", seg)
        seg = _BIDI.sub("_", seg)
        seg = _RESERVED.sub("_", seg)
        # apply the length limit and the Windows rules until none changes the segment, so
        # that shortening can never bring back a trailing dot/space or a device name
        while True:
            seg = _truncate(seg, _MAX_SEGMENT)
            stripped = seg.rstrip(". ")
            if stripped != seg:
                seg = stripped + "_"
                continue
            if _is_device(seg):
                seg = "_" + seg
                continue
            break
        out.append(seg)
    if not out:
        return f"_unnamed_{index}"
    return "/".join(out)
