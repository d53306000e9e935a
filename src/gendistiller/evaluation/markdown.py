"""Markdown building blocks of the reports."""

from __future__ import annotations


def table(header: list[str], rows: list[list[str]], align: str = "") -> str:
    """A GitHub markdown table; ``align`` holds one of ``l``/``r`` per column (default: l, then r)."""
    align = align or "l" + "r" * (len(header) - 1)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = [header, rule, *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)
