"""Authenticode layer: which bytes each format signs (CAB, PE, flat files), the signatures
on them (primary and nested, timestamps), their verification offline, and the chain to a
trust anchor."""
