"""Show progress messages the way the docker CLI does.

On a terminal (the docker CLI's ``jsonmessage.DisplayJSONMessagesStream``):
each layer id that reports progress gets a line of its own, rewritten in
place with ANSI cursor movement as its updates arrive (``id: status [==>  ]
1.2MB/3.4MB``); any message without an id ends that block of lines.  Not on
a terminal: one plain line per message, and the progress-bar updates (which
only make sense redrawn in place) are left out.

BuildKit builds (``version=2``) send their status as ``aux`` messages with
the id ``moby.buildkit.trace``, protobuf-encoded ``StatusResponse`` blobs;
decoding them needs protobuf and BuildKit's schema, which this package does
not carry, so they are shown as such (one line with their size).
"""

from __future__ import annotations

from typing import Any, TextIO

from .._core._models import ProgressMessage

__all__ = ["ProgressRenderer", "human_size", "progress_bar"]

BAR_WIDTH = 50


def human_size(size: float) -> str:
    """Decimal units with four significant digits, as docker's ``units.HumanSize``."""
    units = ("B", "kB", "MB", "GB", "TB", "PB")
    i = 0
    while size >= 1000 and i < len(units) - 1:
        size /= 1000.0
        i += 1
    return f"{size:.4g}{units[i]}"


def progress_bar(current: int | None, total: int | None, width: int = BAR_WIDTH) -> str:
    """``[=====>     ]   1.2MB/3.4MB``, or the size alone when the total is unknown."""
    current = current or 0
    if current <= 0 and not total:
        return ""
    if not total or total <= 0:
        return f"{human_size(current):>8}"
    filled = min(width, int(width * current / total))
    bar = f"[{'=' * filled}>{' ' * (width - filled)}] " if filled < width else f"[{'=' * width}>] "
    if current > total:
        return f"{bar}{human_size(current):>8}"
    return f"{bar}{human_size(current):>8}/{human_size(total)}"


class ProgressRenderer:
    """Feed it :class:`ProgressMessage` objects (or dicts); it writes to ``out``.

    ``tty`` chooses the in-place terminal form; by default it follows
    ``out.isatty()``.
    """

    def __init__(self, out: TextIO, *, tty: bool | None = None) -> None:
        self.out = out
        self.tty = bool(out.isatty()) if tty is None else tty
        self._lines: dict[str, int] = {}  # layer id -> its line in the current block

    def __call__(self, message: ProgressMessage | Any) -> None:
        self.show(message)

    def show(self, message: ProgressMessage | Any) -> None:
        msg = message if isinstance(message, ProgressMessage) else ProgressMessage(message)
        raw = msg.raw
        ident = msg.id
        has_progress = "progressDetail" in raw or bool(msg.progress)
        if ident == "moby.buildkit.trace":
            self._reset()
            self._write(f"{self._buildkit(msg.aux)}\n")
            return
        if ident and has_progress:
            if ident not in self._lines:
                self._lines[ident] = len(self._lines)
                if self.tty:
                    self.out.write("\n")
            up = len(self._lines) - self._lines[ident]
            if self.tty:
                self.out.write(f"\x1b[{up}A\x1b[2K\r{self._line(msg)}\r\x1b[{up}B")
                self.out.flush()
                return
            if msg.current or msg.progress:
                return  # a bar update: only meaningful redrawn in place
            self._write(f"{self._line(msg)}\n")
            return
        # Anything that is not a layer's progress ends the block, as in the
        # docker CLI (a second tag's pull must not redraw the first's lines).
        self._reset()
        if msg.stream is not None:
            self._write(msg.stream)
        elif msg.aux is not None:
            text = self._aux(msg.aux)
            if text is not None:
                self._write(f"{text}\n")
        elif msg.status is not None or ident:
            self._write(f"{self._line(msg)}\n")

    def _line(self, msg: ProgressMessage) -> str:
        parts = []
        if msg.id:
            parts.append(f"{msg.id}: ")
        parts.append(msg.status or "")
        bar = progress_bar(msg.current, msg.total) if self.tty else ""
        if not bar and self.tty and msg.progress:
            bar = msg.progress
        if bar:
            parts.append(f" {bar}")
        return "".join(parts)

    @staticmethod
    def _aux(aux: Any) -> str | None:
        # A build's image ID and a push's digest repeat what the stream and
        # status lines already said (the docker CLI hands them to a callback
        # instead of printing them); anything else is shown as it came.
        if isinstance(aux, dict) and ("ID" in aux or "Digest" in aux):
            return None
        return f"aux: {aux}"

    @staticmethod
    def _buildkit(aux: Any) -> str:
        size = len(aux) if isinstance(aux, str) else 0
        return f"moby.buildkit.trace: {size} bytes of BuildKit status (protobuf, not decoded)"

    def _reset(self) -> None:
        self._lines.clear()

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()
