"""The decoder backends available here, in preference order, and lookup by key.

The backend modules import only :mod:`msuinspect.cab.codecs.base`; this module imports
them (lazily: ctypes and libarchive load on first use), so no codec module imports another.
"""

from __future__ import annotations

from msuinspect.cab.codecs.base import Codec

_DEFAULT: list[Codec] | None = None


def default_codecs() -> list[Codec]:
    """Available backends in preference order (cached).

    The order is the fastest measured first for MSZIP and stored folders (``make bench``,
    bench/README.md): libarchive (checksums verified in C; faster than the in-house reader),
    then the in-house zlib reader, then libmspack (Quantum). LZX folders go to libmspack
    first whatever the order (:meth:`msuinspect.cab.decode.Decoder._codecs_for`): it
    rejects matches before the start of a folder, which libarchive fills from stale
    memory.
    """
    global _DEFAULT
    if _DEFAULT is None:
        from msuinspect.cab.codecs.libarchive_codec import load_libarchive
        from msuinspect.cab.codecs.libmspack_codec import load_libmspack
        from msuinspect.cab.codecs.zlib_codec import ZlibCodec

        codecs: list[Codec] = []
        for loader in (load_libarchive, ZlibCodec, load_libmspack):
            codec = loader()
            if codec is not None:
                codecs.append(codec)
        _DEFAULT = codecs
    return list(_DEFAULT)


def codecs_by_key(keys: list[str]) -> list[Codec]:
    """Backends named by ``keys`` (in that order), for ``--decoder``; unknown keys raise."""
    available = {c.key: c for c in default_codecs()}
    missing = [k for k in keys if k not in available]
    if missing:
        known = ", ".join(sorted(available)) or "none"
        raise ValueError(f"decoder(s) not available: {', '.join(missing)} (available: {known})")
    return [available[k] for k in keys]
