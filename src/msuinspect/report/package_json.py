"""JSON form of the package tree and summary (the ``package`` key of
``msuinspect.inspect/1``; docs/json-schema.md)."""

from __future__ import annotations

from typing import Any

from msuinspect.package.analyse import PackageReport
from msuinspect.package.catalog import Catalog, CatalogMember, OsAttr
from msuinspect.package.cix import ContainerIndex
from msuinspect.package.manifest import ComponentManifest
from msuinspect.package.model import PackageNode
from msuinspect.package.mum import AssemblyIdentity, PackageManifest
from msuinspect.package.properties import PackageProperties
from msuinspect.package.summary import PackageSummary
from msuinspect.package.unattend import Unattend
from msuinspect.report.cabinet_json import findings_list
from msuinspect.report.signatures_json import signature_dict


def _ident(i: AssemblyIdentity | None) -> str | None:
    return i.identity_string if i is not None else None


def _os_attr_list(attrs: tuple[OsAttr, ...]) -> list[dict[str, Any]]:
    return [{"text": a.text, "label": a.label} for a in attrs]


def catalog_member_dict(m: CatalogMember) -> dict[str, Any]:
    """One catalog member (bytes as hex)."""
    return {
        "index": m.index,
        "identifier": m.identifier.hex(),
        "tag": m.tag,
        "digest_algorithm": m.digest_algorithm,
        "digest": m.digest.hex() if m.digest is not None else None,
        "subject_type": m.subject_type,
        "sip": m.sip.value,
        "sip_guid": m.sip_guid,
        "file_name": m.file_name,
        "os_attr": _os_attr_list(m.os_attr),
        "attributes": dict(m.attributes),
        "unknown_attributes": list(m.unknown_attributes),
    }


def catalog_dict(cat: Catalog) -> dict[str, Any]:
    """A parsed catalog (bytes as hex, times in ISO 8601), without its private lookup
    indexes."""
    return {
        "version": cat.version,
        "subject_usage": list(cat.subject_usage),
        "subject_algorithm": cat.subject_algorithm,
        "member_hash_algorithm": cat.member_hash_algorithm,
        "list_identifier": cat.list_identifier.hex(),
        "sequence_number": cat.sequence_number,
        "this_update": cat.this_update.isoformat() if cat.this_update else None,
        "next_update": cat.next_update.isoformat() if cat.next_update else None,
        "signed": cat.signed,
        "attributes": dict(cat.attributes),
        "os_attr": _os_attr_list(cat.os_attr),
        "members": [catalog_member_dict(m) for m in cat.members],
        "findings": [f.to_dict() for f in cat.findings],
    }


def parsed_dict(parsed: object) -> dict[str, Any] | None:
    if parsed is None:
        return None
    if isinstance(parsed, Catalog):
        d = catalog_dict(parsed)
        d["type"] = "catalog"
        return d
    if isinstance(parsed, PackageManifest):
        pkg = parsed.package
        return {
            "type": "package-manifest",
            "identity": _ident(parsed.identity),
            "identifier": pkg.identifier if pkg else None,
            "release_type": pkg.release_type if pkg else None,
            "restart": pkg.restart if pkg else None,
            "applicability_evaluation": pkg.applicability_evaluation if pkg else None,
            "package_attributes": dict(pkg.attributes) if pkg else {},
            "description": parsed.description,
            "support_information": parsed.support_information,
            "creation_time_stamp": parsed.creation_time_stamp,
            "parents": [
                {
                    "identities": [_ident(i) for i in p.identities],
                    "attributes": dict(p.attributes),
                }
                for p in parsed.parents
            ],
            "installer_assembly": _ident(parsed.installer_assembly),
            "updates": [
                {
                    "name": u.name,
                    "children": [
                        {
                            "kind": c.kind,
                            "identity": _ident(c.identity),
                            "attributes": dict(c.attributes),
                        }
                        for c in u.children
                    ],
                }
                for u in parsed.updates
            ],
            "components": [_ident(i) for i in parsed.component_identities],
            "package_references": [_ident(i) for i in parsed.package_references],
            "esu_gated": parsed.esu_gated,
            "esu_evidence": list(parsed.esu_evidence),
        }
    if isinstance(parsed, ComponentManifest):
        return {
            "type": "component-manifest",
            "identity": _ident(parsed.identity),
            "compressed": parsed.is_delta_compressed,
            "dependencies": [_ident(i) for i in parsed.dependencies],
            "files": [{"name": f.name, "hashes": dict(f.hashes)} for f in parsed.files],
        }
    if isinstance(parsed, PackageProperties):
        return {"type": "properties", "encoding": parsed.encoding, "values": dict(parsed.raw)}
    if isinstance(parsed, Unattend):
        return {
            "type": "unattend",
            "packages": [
                {
                    "action": p.action,
                    "identity": _ident(p.identity),
                    "source_location": p.source_location,
                    "resolved_member": p.resolved_member,
                }
                for p in parsed.packages
            ],
        }
    if isinstance(parsed, ContainerIndex):
        return {
            "type": "container-index",
            "name": parsed.name,
            "files": len(parsed.files),
            "deltas": sum(1 for f in parsed.files if f.source_type == "PA30"),
        }
    return None


def node_dict(node: PackageNode, parent: str | None, root: bool) -> dict[str, Any]:
    sig = node.signatures
    cov = node.coverage
    return {
        "path": node.path,
        "parent": parent,
        "name": node.name,
        "kind": node.kind.value,
        "size": node.size,
        "sha1": node.sha1,
        "sha256": node.sha256,
        "pe_digests": dict(node.pe_digests),
        "container_index_name": node.cix_name,
        "signing": sig.signing.value if sig is not None else None,
        "trusted": sig.trusted if sig is not None else None,
        # the root's signatures are the file's own "signatures" list
        "signatures": [] if root or sig is None else [signature_dict(s) for s in sig.signatures],
        "coverage": None
        if cov is None
        else {
            "status": cov.status.value,
            "catalog": cov.catalog,
            "member": cov.member,
            "algorithm": cov.algorithm,
            "hash_kind": cov.hash_kind,
            "catalog_valid": cov.catalog_valid,
            "detail": cov.detail,
        },
        "parsed": parsed_dict(node.parsed),
        # the root's signature findings are in the file object already
        "findings": findings_list(node.own_findings(with_signatures=not root)),
    }


def summary_dict(s: PackageSummary) -> dict[str, Any]:
    return {
        "generation": s.generation,
        "kb_numbers": list(s.kb_numbers),
        "package_identities": list(s.package_identities),
        "release_type": s.release_type,
        "restart": s.restart,
        "description": s.description,
        "support_link": s.support_link,
        "target_version": s.target_version,
        "target_product": s.target_product,
        "target_sources": dict(s.target_sources),
        "architecture": s.architecture,
        "architecture_sources": dict(s.architecture_sources),
        "parents": list(s.parents),
        "parent_meaning": list(s.parent_meaning),
        "component_count": s.component_count,
        "component_version_min": s.component_version_min,
        "component_version_max": s.component_version_max,
        "carries_6003": s.carries_6003,
        "build_date": s.build_date,
        "esu_gated": s.esu_gated,
        "esu_evidence": list(s.esu_evidence),
        "signing": dict(s.signing),
        "catalog_versions": list(s.catalog_versions),
        "coverage": dict(s.coverage),
        "download_name_sha1": s.download_name_sha1,
        "is_update_package": s.is_update_package,
        "kb_sources": {k: list(v) for k, v in s.kb_sources.items()},
        "name_claim": dict(s.name_claim) or None,
        "release_sources": dict(s.release_sources),
    }


def package_dict(rep: PackageReport) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = []

    def visit(n: PackageNode, parent: str | None) -> None:
        nodes.append(node_dict(n, parent, parent is None))
        for c in n.children:
            visit(c, n.path)

    visit(rep.root, None)
    return {
        "kind": rep.root.kind.value,
        "summary": summary_dict(rep.summary),
        "nodes": nodes,
        "findings": findings_list(rep.findings),
    }
