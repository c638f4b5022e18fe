"""Member data made safe to show: for a terminal, a spreadsheet, a web page and a Parquet file.

Input: any text that came from a member's file (ids, titles, reasons that quote a record) or from a spec. Output:
text that cannot act on whoever opens the report —
- `shown(text)`: control characters (C0, DEL, C1), bidirectional overrides and isolates (U+202A–U+202E,
  U+2066–U+2069, and the invisible marks U+200E, U+200F, U+061C), line and paragraph separators and lone surrogates
  written as visible escapes (`\\x1b`, `\\u202e`), so a title can neither move the cursor, recolour the terminal,
  reorder the line it stands in, nor break the report's layout;
- `shortened(text, width)`: an absurdly long cell cut to `width` display columns with an ellipsis;
- `width(text)`: display columns (East Asian wide characters take two, combining marks none), so tables line up;
- `spreadsheet_safe(cell)`: a CSV cell a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab
  or carriage return) prefixed with a single quote, as OWASP recommends ("CSV Injection");
- `encodable(text)`: lone surrogates (JSON allows `"\\udc41"`, UTF-8 cannot hold it) replaced by U+FFFD.
"""

from __future__ import annotations

import re
import unicodedata

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet treat a cell as a formula (OWASP, CSV Injection)."""
ELLIPSIS = "…"


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(text: str) -> str:
    """The text with every control, bidirectional and separator character written as a visible escape."""
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


def width(text: str) -> int:
    """Display columns of text already made `shown`: wide characters count two, combining marks none."""
    if text.isascii():
        return len(text)
    return sum(_char_width(char) for char in text)


def _char_width(char: str) -> int:
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def shortened(text: str, columns: int) -> str:
    """Text cut to at most `columns` display columns, ending with an ellipsis when it was cut."""
    if len(text) <= columns and text.isascii():
        return text
    if width(text) <= columns:
        return text
    kept: list[str] = []
    used = 0
    for char in text:
        size = _char_width(char)
        if used + size > columns - 1:
            break
        kept.append(char)
        used += size
    return "".join(kept).rstrip() + ELLIPSIS


def pad(text: str, columns: int, right: bool = False) -> str:
    """Text padded with spaces to `columns` display columns (left-aligned, or right-aligned for numbers)."""
    fill = " " * max(0, columns - width(text))
    return fill + text if right else text + fill


def spreadsheet_safe(cell: str) -> str:
    """A cell a spreadsheet would evaluate, neutralised with a leading single quote (OWASP)."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def encodable(text: str) -> str:
    """Text UTF-8 can hold: lone surrogates replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text
