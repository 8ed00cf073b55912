"""Content-Disposition for a share's name (RFC 6266), pure.

Browsers read `filename*` (the exact name, UTF-8, percent-encoded); curl
-OJ and older clients read only `filename`, and curl neither decodes
`filename*` nor unescapes `\\"` inside a quoted string. So `filename` is an
ASCII fallback with nothing that needs escaping: accents transliterated,
quotes, backslashes, percent signs and control characters replaced, the
extension kept.
"""

import os
import unicodedata
from urllib.parse import quote

MAX_FALLBACK = 255  # a file name on common file systems
DEFAULT_STEM = "download"

# RFC 8187 attr-char besides letters and digits: everything else is %-encoded.
_ATTR_CHARS = "!#$&+-.^_`|~"
# RFC 6266 appendix D: no quotes, backslashes or percent signs in the fallback.
_FALLBACK_SWAPS = {'"': "'", "\\": "_", "%": "_", "/": "_"}
# Common letters and marks that NFKD leaves whole.
_SPELLED = {
    "ß": "ss",
    "æ": "ae",
    "Æ": "AE",
    "œ": "oe",
    "Œ": "OE",
    "ø": "o",
    "Ø": "O",
    "đ": "d",
    "Đ": "D",
    "ð": "d",
    "Ð": "D",
    "ł": "l",
    "Ł": "L",
    "þ": "th",
    "Þ": "Th",
    "ı": "i",
    "‐": "-",
    "‑": "-",
    "‒": "-",
    "–": "-",
    "—": "-",
    "‘": "'",
    "’": "'",
    "‚": "'",
    "“": "'",
    "”": "'",
    "„": "'",
    "«": "'",
    "»": "'",
}


def _ascii_char(ch: str) -> str:
    if ch in _FALLBACK_SWAPS:
        return _FALLBACK_SWAPS[ch]
    if ch in _SPELLED:
        return _SPELLED[ch]
    if " " <= ch <= "~":
        return ch
    if unicodedata.category(ch) == "Mn":
        return ""  # the accent of a decomposed letter
    return "_"


def _transliterate(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    out = "".join(_ascii_char(ch) for ch in decomposed)
    while "__" in out:
        out = out.replace("__", "_")
    return out


def ascii_fallback(name: str) -> str:
    """An ASCII name with no `"`, `\\`, `%` or control characters, ending in the name's extension."""
    stem, ext = os.path.splitext(name)
    stem, ext = _transliterate(stem), _transliterate(ext)
    if ext and not any(ch.isalnum() for ch in ext):
        stem, ext = stem + ext, ""  # an extension that did not survive is no extension
    if not stem.strip("_ ."):
        stem = DEFAULT_STEM  # nothing of the name was left to show
    ext = ext[: MAX_FALLBACK // 2]
    return stem[: MAX_FALLBACK - len(ext)] + ext


def content_disposition(name: str) -> str:
    """`attachment` with the name: a plain `filename` when it says it exactly, both parameters otherwise."""
    fallback = ascii_fallback(name)
    if fallback == name:
        return f'attachment; filename="{name}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe=_ATTR_CHARS)}"
