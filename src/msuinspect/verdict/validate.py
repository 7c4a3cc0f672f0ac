"""Validation rules R6-R12: would this host accept the signatures of every layer it checks?

A host without SHA-2 support reads only the primary signature of each cabinet layer and
only SHA-1 file digests and SHA-1-signed v1 catalogs; with SHA-2 support (KB4474419, or
KB4039648 on x64, restarted) nested signatures, SHA-256 digests and v2 catalogs count. A
chain must end at a root the host holds (read from the host's roots, never inferred from
KBs); a root given with ``--trust-root`` counts as present. A layer passes when at least one
signature the host reads passes; the package validates when every checked layer does.
"""

from __future__ import annotations

from dataclasses import dataclass

from msuinspect.authenticode.algorithms import Strength, strength
from msuinspect.host.profile import HostProfile, Root
from msuinspect.servicing.knowledge import Confidence
from msuinspect.verdict.facts import (
    CHECKED_LAYERS,
    EXTRA_ROOT,
    Layer,
    LayerFacts,
    PackageFacts,
    SignatureFact,
)
from msuinspect.verdict.host_facts import Sha2Support, root_present
from msuinspect.verdict.model import (
    Answer,
    Aspect,
    ExpectedError,
    Reason,
    RuleOutcome,
)

E_BAD_DIGEST = ExpectedError(
    "wusa: Installer encountered an error: 0x80096010 - the digital signature of the object "
    "did not verify",
    "0x80096010",
    ("S2", "S3"),
    Confidence.CONFIRMED,
)
E_CHAINING = ExpectedError(
    "certificate chain could not be built to a trusted root: CERT_E_CHAINING (root absent "
    "from every store)",
    "0x800B010A",
    ("review-2",),
    Confidence.WEAK,
)
E_EXPIRED = ExpectedError(
    "CERT_E_EXPIRED: the chain has expired and the signature has no timestamp",
    "0x800B0101",
    ("S1",),
    Confidence.WEAK,
)

_ROOT_NAMES = {
    Root.ROOT_AUTHORITY: "Microsoft Root Authority",
    Root.ROOT_2001: "the 2001 Microsoft root",
    Root.ROOT_2010: "Root CA 2010",
    Root.ROOT_2011: "Root CA 2011",
}


@dataclass(frozen=True, slots=True)
class SigResult:
    outcome: Answer
    rule: str
    summary: str
    confidence: Confidence
    source: tuple[str, ...]
    unknown_field: str | None = None
    expected: ExpectedError | None = None
    missing_root: Root | None = None
    needs_sha2: bool = False
    #: further failures of the same signature, reported too (e.g. R9 beside R8)
    extra: tuple[SigResult, ...] = ()


def _algo(name: str) -> str:
    return name.upper().replace("SHA", "SHA-") if name.startswith("sha") else name.upper()


def _root_text(sig: SignatureFact) -> str:
    rid = sig.root_id
    if rid is not None:
        return _ROOT_NAMES[rid]
    if sig.is_extra_root:
        return f"the --trust-root {sig.root_name or 'root'}"
    return sig.root_name or "an unknown root"


def judge_signature(
    sig: SignatureFact, layer: LayerFacts, host: HostProfile, sha2: Answer
) -> SigResult:
    """One signature on this host, assuming SHA-2 support is ``sha2`` (yes or no).

    When the host lacks SHA-2 support, the chain is judged as well: a missing root (R9)
    is reported beside R8/R12 (``extra``), so every fix is named at once.
    """
    catalog = layer.layer is Layer.CATALOG
    if sig.digest_ok is False or sig.signature_ok is False:
        what = "digest does not match" if sig.digest_ok is False else "signature is invalid"
        return SigResult(
            Answer.NO, "R6", f"{layer.label} {what}", Confidence.CONFIRMED, ("S2",),
            expected=E_BAD_DIGEST,
        )  # fmt: skip
    st = strength(sig.digest_algorithm)
    if st in (Strength.WEAK, Strength.UNKNOWN):
        return SigResult(
            Answer.UNKNOWN, "R6",
            f"{layer.label} digest {_algo(sig.digest_algorithm)}: host behaviour undocumented",
            Confidence.WEAK, (), unknown_field="package signature algorithm",
        )  # fmt: skip
    chain = _chain_result(sig, layer, host)
    extra = (chain,) if chain.outcome is not Answer.YES else ()
    if st is Strength.SHA2 and sha2 is not Answer.YES:
        rule = "R12" if catalog else "R8"
        conf = Confidence.STRONG if catalog else Confidence.CONFIRMED
        return SigResult(
            Answer.NO, rule, f"{layer.label} needs SHA-2 ({_algo(sig.digest_algorithm)})",
            conf, ("S2", "S5"), expected=E_BAD_DIGEST, needs_sha2=True, extra=extra,
        )  # fmt: skip
    if catalog and layer.catalog_version == 2 and sha2 is not Answer.YES:
        return SigResult(
            Answer.NO, "R12", "catalog is v2 (SHA-256 members)", Confidence.STRONG,
            ("S5", "S11"), needs_sha2=True, extra=extra,
        )  # fmt: skip
    return chain


def _chain_result(sig: SignatureFact, layer: LayerFacts, host: HostProfile) -> SigResult:
    """R6/R7/R9/R9b/R11: the chain and whether the host holds its root."""
    catalog = layer.layer is Layer.CATALOG
    if sig.chain_ok is not True:
        if sig.chain_error == "expired" and sig.timestamp is None:
            return SigResult(
                Answer.NO, "R7", f"{layer.label} chain expired, no timestamp",
                Confidence.WEAK, ("S1",), expected=E_EXPIRED,
            )  # fmt: skip
        if sig.root is None:
            return SigResult(
                Answer.NO, "R9", f"{layer.label} chains to no trusted root",
                Confidence.CONFIRMED, ("S1",), expected=E_CHAINING,
            )  # fmt: skip
        return SigResult(
            Answer.NO, "R6", f"{layer.label} chain invalid ({sig.chain_error or 'unknown'})",
            Confidence.CONFIRMED, ("S1",),
        )  # fmt: skip
    rid = sig.root_id
    if sig.root is not None and sig.root.startswith(EXTRA_ROOT):
        present: bool | None = True
    elif rid is None:
        present = None
    else:
        present = root_present(host, rid)
    if present is None:
        return SigResult(
            Answer.UNKNOWN, "R9", f"{layer.label} chains to {_root_text(sig)}",
            Confidence.CONFIRMED, ("S1",), unknown_field="roots",
        )  # fmt: skip
    if not present:
        return SigResult(
            Answer.NO, "R9", f"{layer.label} chains to {_root_text(sig)}, absent on the host",
            Confidence.CONFIRMED, ("S1", "review-2"), expected=E_CHAINING, missing_root=rid,
        )  # fmt: skip
    src: tuple[str, ...]
    if rid in (Root.ROOT_2010, Root.ROOT_2011) or sig.is_extra_root:
        rule, conf, src = "R9b", Confidence.STRONG, ("S1",)
    elif catalog:
        rule, conf, src = "R11", Confidence.CONFIRMED, ("S9",)
    else:
        rule, conf, src = "R6", Confidence.CONFIRMED, ("S1", "S9")
    ts = f", timestamped {sig.timestamp:%Y-%m-%d}" if sig.timestamp else ""
    kind = "nested" if sig.nested else "primary"
    summary = f"{layer.label} {kind} {_algo(sig.digest_algorithm)} chains to {_root_text(sig)}{ts}"
    return SigResult(Answer.YES, rule, summary, conf, src)


def _layer_result(layer: LayerFacts, host: HostProfile, sha2: Answer) -> SigResult:
    if not layer.signatures:
        return SigResult(
            Answer.NO, "R6", f"{layer.label} is unsigned", Confidence.CONFIRMED, ("S2",),
        )  # fmt: skip
    read = layer.signatures if sha2 is Answer.YES else layer.signatures[:1]
    results = [judge_signature(s, layer, host, sha2) for s in read]
    for wanted in (Answer.YES, Answer.UNKNOWN):
        hit = next((r for r in results if r.outcome is wanted), None)
        if hit is not None:
            return hit
    first = results[0]
    if first.needs_sha2 and layer.layer is not Layer.CATALOG:
        sha1_nested = any(strength(s.digest_algorithm) is Strength.SHA1 for s in layer.signatures)
        if sha1_nested:
            return SigResult(
                Answer.NO, "R10",
                f"{layer.label} primary is {_algo(layer.signatures[0].digest_algorithm)}; "
                "its SHA-1 signature is nested",
                Confidence.WEAK, ("S5",), expected=E_BAD_DIGEST, needs_sha2=True,
                extra=first.extra,
            )  # fmt: skip
        return SigResult(
            Answer.NO, "R8", f"{layer.label} is SHA-256-only", Confidence.CONFIRMED,
            ("S2", "S3"), expected=E_BAD_DIGEST, needs_sha2=True, extra=first.extra,
        )  # fmt: skip
    return first


@dataclass(frozen=True, slots=True)
class LayerVerdict:
    layer: LayerFacts
    result: SigResult


def judge_layer(layer: LayerFacts, host: HostProfile, sha2: Sha2Support) -> SigResult:
    if sha2.outcome is not Answer.UNKNOWN:
        return _layer_result(layer, host, sha2.outcome)
    without = _layer_result(layer, host, Answer.NO)
    with_ = _layer_result(layer, host, Answer.YES)
    if without.outcome is with_.outcome:
        return without
    return SigResult(
        Answer.UNKNOWN, without.rule if without.outcome is Answer.NO else with_.rule,
        f"{layer.label}: {without.summary} without SHA-2 support",
        without.confidence, without.source, unknown_field=sha2.unknown_field or "installed",
        needs_sha2=without.needs_sha2,
    )  # fmt: skip


def _evidence(layer: LayerFacts) -> str:
    if not layer.signatures:
        return f"{layer.path}: no signature"
    parts = []
    for s in layer.signatures:
        kind = "nested" if s.nested else "primary"
        ts = f" ts {s.timestamp:%Y-%m-%d}" if s.timestamp else " no timestamp"
        root = s.root_name or "no trusted root"
        parts.append(f"#{s.index} {kind} {_algo(s.digest_algorithm)} -> {root}{ts}")
    cat = f" catalog v{layer.catalog_version}" if layer.catalog_version is not None else ""
    return f"{layer.path}{cat}: " + "; ".join(parts)


@dataclass(frozen=True, slots=True)
class Validation:
    outcome: Answer
    reasons: tuple[Reason, ...]
    needs_sha2: bool
    missing_roots: tuple[Root, ...]


def judge_validation(facts: PackageFacts, host: HostProfile, sha2: Sha2Support) -> Validation:
    layers = [lf for lf in facts.layers if lf.layer in CHECKED_LAYERS]
    if not layers:
        reason = Reason(
            "R6", RuleOutcome.UNKNOWN, Aspect.VALIDATE, "no signed layer a host checks",
            f"{facts.path}: no outer MSU, update cabinet or catalog", (), Confidence.WEAK,
            unknown_field="package",
        )  # fmt: skip
        return Validation(Answer.UNKNOWN, (reason,), False, ())
    groups: dict[tuple[str, str, Answer, str], list[tuple[LayerFacts, SigResult]]] = {}
    for lf in layers:
        first = judge_layer(lf, host, sha2)
        for res in (first, *first.extra):
            # catalogs are many and alike: one reason per distinct result
            key = (lf.layer.value, res.rule, res.outcome,
                   res.summary if lf.layer is not Layer.CATALOG
                   else res.summary.replace(lf.label, "catalog"))  # fmt: skip
            if lf.layer is not Layer.CATALOG:
                key = (*key[:3], f"{lf.path}\0{res.rule}")
            groups.setdefault(key, []).append((lf, res))
    reasons: list[Reason] = []
    outcomes: list[Answer] = []
    needs_sha2 = False
    missing: list[Root] = []
    for items in groups.values():
        lf, res = items[0]
        outcomes.extend(r.outcome for _l, r in items)
        needs_sha2 = needs_sha2 or any(r.needs_sha2 for _l, r in items)
        for _l, r in items:
            if r.missing_root is not None and r.missing_root not in missing:
                missing.append(r.missing_root)
        summary = res.summary
        evidence = _evidence(lf)
        if len(items) > 1:
            summary = f"{len(items)} catalogs: " + summary.replace(f"{lf.label} ", "", 1)
            evidence = f"{len(items)} catalogs, e.g. " + evidence
        outcome = {
            Answer.YES: RuleOutcome.PASS,
            Answer.NO: RuleOutcome.FAIL,
            Answer.UNKNOWN: RuleOutcome.UNKNOWN,
        }[res.outcome]
        reasons.append(
            Reason(
                res.rule, outcome, Aspect.VALIDATE, summary, evidence, res.source,
                res.confidence, layer=lf.layer.value, path=lf.path,
                unknown_field=res.unknown_field, expected_error=res.expected,
            )
        )  # fmt: skip
    if Answer.NO in outcomes:
        total = Answer.NO
    elif Answer.UNKNOWN in outcomes:
        total = Answer.UNKNOWN
    else:
        total = Answer.YES
    order = {RuleOutcome.FAIL: 0, RuleOutcome.UNKNOWN: 1, RuleOutcome.PASS: 2, RuleOutcome.INFO: 3}
    layer_order = {Layer.OUTER_MSU.value: 0, Layer.INNER_CAB.value: 1, Layer.CATALOG.value: 2}
    reasons.sort(key=lambda r: (order[r.outcome], layer_order.get(r.layer or "", 9)))
    return Validation(total, tuple(reasons), needs_sha2, tuple(missing))
