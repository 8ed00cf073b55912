"""Awkward share names, and what each client saves them as (shared by the curl and chromium tests).

curl -OJ reads only `filename` (the ASCII fallback); chromium reads
`filename*` (the exact name) and then applies its own rules, as it does for
any site: it turns `"` and `?` into `_` and drops leading dots.
"""

LONG_ASCII = "x" * 250 + ".txt"  # 254 bytes: the file system's limit is 255
LONG_ACCENTED = "é" * 120 + ".txt"  # 244 bytes

# (name, what curl -OJ saves, what chromium saves)
NAMES = [
    ("résumé.pdf", "resume.pdf", "résumé.pdf"),
    ('my "quoted"; file name.txt', "my 'quoted'; file name.txt", "my _quoted_; file name.txt"),
    ("semi;colon, comma.txt", "semi;colon, comma.txt", "semi;colon, comma.txt"),
    (".hidden-config", ".hidden-config", "hidden-config"),
    ("日本語 ファイル.pdf", "download.pdf", "日本語 ファイル.pdf"),
    ("100% done.txt", "100_ done.txt", "100% done.txt"),
    ("what? #1.txt", "what? #1.txt", "what_ #1.txt"),
    (LONG_ASCII, LONG_ASCII, LONG_ASCII),
    (LONG_ACCENTED, "e" * 120 + ".txt", LONG_ACCENTED),
]


def ids(entry) -> str:
    name = entry if isinstance(entry, str) else entry[0]
    return name if len(name) < 40 else f"{name[:8]}…({len(name.encode())} bytes)"
