"""Does this client want a web page? (Accept header, RFC 9110 12.5.1)."""

_HTML_TYPES = ("text/html", "application/xhtml+xml")


def _parse(accept: str) -> list[tuple[str, float]]:
    items = []
    for part in accept.split(",")[:64]:  # bounded: a header is no place for 10k types
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        if not media:
            continue
        q = 1.0
        for param in fields[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        items.append((media, q))
    return items


def prefers_html(accept: str | None) -> bool:
    """True when HTML is named explicitly and ranks at least as high as anything else.

    curl and wget send `*/*`, PowerShell sends nothing: they get the file.
    Browsers list text/html first.
    """
    if not accept:
        return False
    items = _parse(accept)
    html_q = max((q for media, q in items if media in _HTML_TYPES), default=0.0)
    if html_q <= 0:
        return False
    other_q = max((q for media, q in items if media not in _HTML_TYPES), default=0.0)
    return html_q >= other_q
