"""Helpers shared by the test modules (imported as ``support``: ``tests/`` is on ``sys.path``
under pytest, as it is for ``conftest``).

- :mod:`support.corpus` -- the repository's paths and the real-file corpus (MANIFEST.tsv).
- :mod:`support.tools` -- external oracles: find them (or skip), run them.
- :mod:`support.cabs` -- cabinets built from nothing, and the [MS-CAB] checksum written
  from the specification.
- :mod:`support.codecs` -- test decoders that change a real backend's output.
- :mod:`support.der` -- DER encoding for hand-built ASN.1 (catalogs, signatures).
- :mod:`support.cli` -- the command line, in process (click's ``CliRunner``) or as a
  ``python -m msuinspect`` subprocess.
"""
