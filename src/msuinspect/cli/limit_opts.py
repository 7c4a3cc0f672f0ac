"""The command-line options of :class:`msuinspect.limits.Limits`, shared by every command
that reads files: the cabinet limits (``list``, ``extract``, ``inspect``) and the limits of
the parsers above the cabinet layer -- ASN.1/PKCS#7, signatures, PE certificate tables, XML,
catalogs -- (``inspect``). docs/security.md lists each with its default."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

import click

from msuinspect import MAX_SAFE_ASN1_DEPTH, MAX_SAFE_DEPTH, MAX_XML_DEPTH, Limits

F = TypeVar("F", bound=Callable[..., Any])

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_size(text: str) -> int:
    """``64G``, ``500M``, ``1024`` -> bytes."""
    m = _SIZE.match(text)
    if not m:
        raise click.BadParameter(f"not a size: {text!r} (use e.g. 500M, 64G)")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def _size(n: int) -> str:
    for unit, shift in (("G", 30), ("M", 20), ("K", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return str(n)


def _apply(func: F, opts: list[Callable[[F], F]]) -> F:
    for opt in reversed(opts):
        func = opt(func)
    return func


def cabinet_limit_options(func: F) -> F:
    """The cabinet limits: expansion, ratio, nesting, memory, members, shared data."""
    d = Limits()
    return _apply(
        func,
        [
            click.option(
                "--max-output",
                default=None,
                metavar="SIZE",
                help=f"cap on decompressed bytes per file (default {_size(d.max_total_output)})",
            ),
            click.option(
                "--max-expansion",
                type=float,
                default=None,
                metavar="N",
                help="cap on the bytes decoded, and on the bytes extracted, per file, as a "
                f"multiple of the file's size (default {d.max_expansion:g})",
            ),
            click.option(
                "--expansion-floor",
                default=None,
                metavar="SIZE",
                help="what --max-expansion allows a small file at least "
                f"(default {_size(d.expansion_floor)})",
            ),
            click.option(
                "--max-ratio",
                type=float,
                default=None,
                metavar="N",
                help=f"cap on a folder's expansion ratio (default {d.max_ratio:g})",
            ),
            click.option(
                "--max-depth",
                type=int,
                default=None,
                metavar="N",
                help=f"cap on cabinet nesting (default {d.max_depth}, at most {MAX_SAFE_DEPTH})",
            ),
            click.option(
                "--max-in-memory",
                default=None,
                metavar="SIZE",
                help="cap on a member read into memory, and on the nested cabinets held in "
                f"memory at once (default {_size(d.max_in_memory)})",
            ),
            click.option(
                "--allow-shared-data",
                is_flag=True,
                default=False,
                help="report folders or members sharing data as warnings, not errors",
            ),
            click.option(
                "--max-members",
                type=int,
                default=None,
                metavar="N",
                help=f"cap on members per cabinet (default {d.max_members})",
            ),
        ],
    )


def parser_limit_options(func: F) -> F:
    """The limits of the signature, catalog and XML parsers."""
    d = Limits()
    return _apply(
        func,
        [
            click.option(
                "--max-asn1-depth",
                type=int,
                default=None,
                metavar="N",
                help="cap on nested indefinite (BER) lengths in a PKCS#7 structure "
                f"(default {d.max_asn1_depth}, at most {MAX_SAFE_ASN1_DEPTH})",
            ),
            click.option(
                "--max-pkcs7-size",
                default=None,
                metavar="SIZE",
                help="cap on a stand-alone PKCS#7 or catalog file read into memory "
                f"(default {_size(d.max_pkcs7_size)})",
            ),
            click.option(
                "--max-certificates",
                type=int,
                default=None,
                metavar="N",
                help="certificates read per signature; more: certificates-capped "
                f"(default {d.max_certificates})",
            ),
            click.option(
                "--max-signatures",
                type=int,
                default=None,
                metavar="N",
                help="signatures read per file, primary and nested; more: signatures-capped "
                f"(default {d.max_signatures})",
            ),
            click.option(
                "--max-pe-certificate-table",
                default=None,
                metavar="SIZE",
                help="bytes of a PE file's certificate table read "
                f"(default {_size(d.max_pe_certificate_table)})",
            ),
            click.option(
                "--max-xml-size",
                default=None,
                metavar="SIZE",
                help=f"cap on one XML document (default {_size(d.max_xml_size)})",
            ),
            click.option(
                "--max-xml-depth",
                type=int,
                default=None,
                metavar="N",
                help=f"cap on XML element nesting (default {MAX_XML_DEPTH}, also the most)",
            ),
            click.option(
                "--max-catalog-members",
                type=int,
                default=None,
                metavar="N",
                help=f"members read per catalog (default {d.max_catalog_members:,})",
            ),
        ],
    )


def limit_options(func: F) -> F:
    """Options of ``list`` and ``extract``: the cabinet limits and the decoder choice."""
    func = click.option(
        "--decoder",
        "decoders",
        multiple=True,
        metavar="NAME",
        help="use only these decoder backends, in this order "
        "(zlib, libarchive, libmspack); repeatable",
    )(func)
    return cabinet_limit_options(func)


def all_limit_options(func: F) -> F:
    """Options of ``inspect``: every limit (cabinet and parsers)."""
    return cabinet_limit_options(parser_limit_options(func))


#: option name -> Limits field, for the options that take a count or a factor
_NUMBERS = (
    ("max_ratio", "max_ratio"),
    ("max_depth", "max_depth"),
    ("max_members", "max_members"),
    ("max_expansion", "max_expansion"),
    ("max_asn1_depth", "max_asn1_depth"),
    ("max_certificates", "max_certificates"),
    ("max_signatures", "max_signatures"),
    ("max_xml_depth", "max_xml_depth"),
    ("max_catalog_members", "max_catalog_members"),
)
#: option name -> Limits field, for the options that take a size (``500M``)
_SIZES = (
    ("max_output", "max_total_output"),
    ("expansion_floor", "expansion_floor"),
    ("max_in_memory", "max_in_memory"),
    ("max_pkcs7_size", "max_pkcs7_size"),
    ("max_pe_certificate_table", "max_pe_certificate_table"),
    ("max_xml_size", "max_xml_size"),
)


def limits_from_options(kw: dict[str, Any]) -> Limits:
    """The :class:`Limits` the options in ``kw`` ask for (defaults for those not given)."""
    given: dict[str, Any] = {
        field: kw[option] for option, field in _NUMBERS if kw.get(option) is not None
    }
    for option, field in _SIZES:
        if kw.get(option) is not None:
            given[field] = parse_size(kw[option])
    if kw.get("allow_shared_data"):
        given["allow_shared_data"] = True
    if given.get("max_depth", 0) < 0:
        raise click.BadParameter("must be 0 or more", param_hint="--max-depth")
    if given.get("max_depth", 0) > MAX_SAFE_DEPTH:
        click.echo(
            f"msuinspect: warning: --max-depth {given['max_depth']} is above the deepest "
            f"nesting msuinspect reads safely ({MAX_SAFE_DEPTH}); using {MAX_SAFE_DEPTH}",
            err=True,
        )
        given["max_depth"] = MAX_SAFE_DEPTH
    try:
        return Limits(**given)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
