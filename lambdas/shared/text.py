"""Free text a person typed (a reviewer's name, a note), made safe to store and to publish.

A note goes into the payments table, the order's failure cause (console, execution history), events on
the bus and e-mails: there it must not reorder what a reader sees (bidi overrides such as U+202E), hide
text (zero-width and other format characters), end a C string (NUL), forge log lines (CR/LF and other
control characters) or become markup. So: NFC, control and format characters dropped (tabs and line
breaks become one space), runs of spaces collapsed, ``& < >`` escaped as HTML entities, and the result
bounded (cut with an ellipsis) so that no field grows without limit.
"""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Final

_WHITESPACE: Final = re.compile(r"\s+")
# Cc: controls (NUL, ESC, CR, LF, ...); Cf: format (bidi embeddings/overrides/isolates, zero-width);
# Co/Cs/Cn: private use, lone surrogates, unassigned.
_DROPPED: Final = frozenset({"Cc", "Cf", "Co", "Cs", "Cn"})
ELLIPSIS: Final = "…"


def clean_text(value: str | None, max_length: int) -> str | None:
    """The text as stored and published (None when nothing printable is left)."""
    if value is None:
        return None
    text = unicodedata.normalize("NFC", value)
    text = "".join(" " if ch in "\t\n\r\v\f" else ch for ch in text)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in _DROPPED)
    text = _WHITESPACE.sub(" ", text).strip()
    text = html.escape(text, quote=False)
    if len(text) > max_length:
        text = text[: max_length - 1].rstrip()
        text = re.sub(r"&[#\w]*$", "", text) + ELLIPSIS  # never cut an entity in half
    return text or None
