"""Regenerate src/msuinspect/report/batch_rules.py from docs/findings.md.

    .venv/bin/python tests/scan/regen_rules.py

The SARIF report's rules carry each code's severity and meaning as docs/findings.md gives
them; tests/scan/test_sarif.py fails when the two drift apart.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "findings.md"
MODULE = REPO / "src" / "msuinspect" / "report" / "batch_rules.py"

_ROW = re.compile(r"^\|(?P<codes>[^|]*)\|(?P<second>[^|]*)\|(?P<meaning>.*)\|\s*$")
_CODE = re.compile(r"`([a-z0-9][a-z0-9-]*)`")


def parse(text: str) -> dict[str, tuple[str, str, str]]:
    """code -> (section, severity or error class, meaning), first mention wins."""
    rules: dict[str, tuple[str, str, str]] = {}
    section = ""
    for line in text.splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
            continue
        m = _ROW.match(line)
        if not m or set(m["codes"].strip()) <= {"-", " "} or m["codes"].strip() == "code":
            continue
        second = m["second"].strip().strip("`")
        meaning = re.sub(r"\s+", " ", m["meaning"].strip())
        for code in _CODE.findall(m["codes"]):
            rules.setdefault(code, (section, second, meaning))
    return rules


def render(rules: dict[str, tuple[str, str, str]]) -> str:
    lines = [
        "# ruff: noqa: E501",
        '"""Finding and error codes with their help text, generated from docs/findings.md by',
        'tests/scan/regen_rules.py: do not edit by hand."""',
        "",
        "from __future__ import annotations",
        "",
        "#: code -> (docs section, severity or error class, meaning)",
        "RULES: dict[str, tuple[str, str, str]] = {",
    ]
    for code in sorted(rules):
        section, second, meaning = rules[code]
        lines.append(f"    {code!r}: (")
        lines.append(f"        {section!r},")
        lines.append(f"        {second!r},")
        lines.append(f"        {meaning!r},")
        lines.append("    ),")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> int:
    MODULE.write_text(render(parse(DOC.read_text(encoding="utf-8"))), encoding="utf-8")
    subprocess.run([sys.executable, "-m", "ruff", "format", str(MODULE)], check=False)
    print(f"wrote {MODULE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
