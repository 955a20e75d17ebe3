"""Which files are recordings, how a file's name is stored and shown, and what identifies its contents."""

from __future__ import annotations

import hashlib
from pathlib import Path

AUDIO_EXTENSIONS = frozenset(
    {".wav", ".mp3", ".flac", ".ogg", ".opus", ".oga", ".amr", ".m4a", ".aac", ".wma", ".au", ".gsm"}
)


def readable_path(path: str) -> str:
    """`path` as text that can be stored and shown. A file name that is not UTF-8 (GBK names copied from
    a Windows share) reaches Python with its bytes as lone surrogates, which DuckDB and JSON refuse: such
    a name is read as GB18030 (a superset of GBK, the usual encoding on Chinese Windows), else its bytes
    are shown as \\xNN escapes. Opening the file still uses the original `path`."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        raw = path.encode("utf-8", "surrogateescape")
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace")


def readable_text(text: str, path: str | None = None) -> str:
    """`text` (a message that may quote a non-UTF-8 file name) as storable text: the name shown as
    `readable_path` shows it, any other stray byte as a \\xNN escape."""
    if path is not None and path in text:
        text = text.replace(path, readable_path(path))
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def file_sha256(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
