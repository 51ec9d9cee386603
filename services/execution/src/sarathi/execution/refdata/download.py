"""Fetch the master file from a URL (the sim, or Dhan's `images.dhan.co`) or a local path, with progress."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable
from pathlib import Path

Progress = Callable[[str], None]
_CHUNK = 256 * 1024
_MIB = 1024 * 1024


class DownloadError(RuntimeError):
    """The file could not be read; the message names the source and the cause."""


def _mib(count: int) -> str:
    return f"{count / _MIB:.1f} MiB"


def fetch(source: str, progress: Progress, *, timeout_seconds: float = 60.0) -> bytes:
    """The bytes at `source` (http(s) URL, `file://` URL or path); progress every ~10% or MiB."""
    if not source.startswith(("http://", "https://")):
        path = Path(source.removeprefix("file://"))
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise DownloadError(f"cannot read {path}: {exc}") from exc
        progress(f"download: read {_mib(len(data))} from {path}")
        return data
    try:
        with urllib.request.urlopen(source, timeout=timeout_seconds) as response:  # noqa: S310 - http(s) only
            total = int(response.headers.get("Content-Length") or 0)
            chunks, received, reported = [], 0, 0
            progress(f"download: {source} ({_mib(total) if total else 'size unknown'})")
            while chunk := response.read(_CHUNK):
                chunks.append(chunk)
                received += len(chunk)
                step = total // 10 if total else _MIB
                if received - reported >= max(step, 1):
                    reported = received
                    share = f" ({100 * received // total}%)" if total else ""
                    progress(f"download: {_mib(received)}{' of ' + _mib(total) if total else ''}{share}")
    except OSError as exc:
        raise DownloadError(f"cannot download {source}: {exc}") from exc
    progress(f"download: done, {_mib(received)}")
    return b"".join(chunks)
