"""Walking granted folders, and the stamp that tells a changed file (the Rust SDK's `fs`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from . import clock


def has_extension(path: Path, extensions: Sequence[str]) -> bool:
    """True if `path`'s extension is one of `extensions` (case-insensitive, no dot)."""
    suffix = path.suffix[1:] if path.suffix else ""
    return bool(suffix) and any(suffix.lower() == x.lower() for x in extensions)


def files(directory: Path, extensions: Sequence[str] = ()) -> List[Path]:
    """Every file under `directory` (recursively, sorted by path components) whose
    extension is one of `extensions`; all files when `extensions` is empty. Hidden entries
    (`.name`) and symbolic links are skipped; unreadable folders are skipped, not fatal."""
    return _walk(directory, extensions, hidden_files=False)


def files_including_hidden(directory: Path) -> List[Path]:
    """Like `files` with no extension filter, but hidden files (`.zsh_history`) are kept;
    hidden folders are still skipped."""
    return _walk(directory, (), hidden_files=True)


def _walk(directory: Path, extensions: Sequence[str], hidden_files: bool) -> List[Path]:
    out: List[Path] = []
    stack = [directory]
    while stack:
        d = stack.pop()
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for entry in entries:
            hidden = entry.name.startswith(".")
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
                is_file = entry.is_file(follow_symlinks=False)
            except OSError:
                continue
            if hidden and (is_dir or not hidden_files):
                continue
            path = Path(entry.path)
            if is_dir:
                stack.append(path)
            elif is_file and (not extensions or has_extension(path, extensions)):
                out.append(path)
    out.sort(key=lambda p: p.parts)
    return out


@dataclass(frozen=True)
class Stamp:
    """What identifies a version of a file cheaply: `len` (bytes) and `modified` (Unix
    seconds, whole, or None if the filesystem gives none)."""

    len: int
    modified: Optional[int]

    @classmethod
    def of(cls, path: Path) -> "Stamp":
        """The stamp of `path`. Errors: `OSError` if it cannot be stat'ed."""
        st = os.stat(path)
        mtime_ns = st.st_mtime_ns
        return cls(st.st_size, mtime_ns // 1_000_000_000 if mtime_ns >= 0 else None)

    def timestamp(self) -> float:
        """The modification time as an event timestamp (Unix seconds), or now."""
        return clock.now() if self.modified is None else float(self.modified)

    def to_json(self) -> Dict[str, Any]:
        """The stamp as the Rust SDK stores it in state: `{"len": …, "modified": …}`."""
        return {"len": self.len, "modified": self.modified}

    @classmethod
    def from_json(cls, value: Any) -> Optional["Stamp"]:
        """A stamp read back from state, or None if `value` is not one."""
        if not isinstance(value, dict):
            return None
        length, modified = value.get("len"), value.get("modified")
        if not isinstance(length, int) or not (modified is None or isinstance(modified, int)):
            return None
        return cls(length, modified)
