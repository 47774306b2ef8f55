"""The host's own event checker, for the native harness: `openclone plugins check-events`,
one subprocess answering one JSON line per request line.

Request: `{"source": "journal", "events": [{"timestamp": 1708258800.0, "data": "<JSON
text>", "raw_ref": "x" or null}], "accept_since": null or "YYYY-MM-DD"}`. Answer:
`{"ok": true, "events": [{"timestamp", "data": {…}, "raw_ref", "key": "<64 hex>"}]}` or
`{"ok": false, "errors": [{"field": "events[0].timestamp", "message": "…"}]}`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import weakref
from pathlib import Path
from typing import IO, Any, Dict, List, Optional, cast

_REPO_BINARY = Path(__file__).resolve().parents[2] / "target" / "debug" / "openclone"


class CheckerUnavailable(RuntimeError):
    """The host binary cannot be found, or it stopped answering."""


def find_binary() -> Path:
    """The `openclone` binary: `$OPENCLONE_BIN`, else `openclone` on PATH, else the
    repository's `target/debug/openclone`.

    Errors: `CheckerUnavailable` naming what to do when none exists.
    """
    env = os.environ.get("OPENCLONE_BIN")
    if env:
        if not Path(env).is_file():
            raise CheckerUnavailable(
                f"OPENCLONE_BIN={env} is not a file; point it at the openclone binary"
            )
        return Path(env)
    on_path = shutil.which("openclone")
    if on_path:
        return Path(on_path)
    if _REPO_BINARY.is_file():
        return _REPO_BINARY
    raise CheckerUnavailable(
        "the harness checks events with the host's own rules and needs the openclone binary: "
        f"build the host (`cargo build -p openclone-host`, which makes {_REPO_BINARY}), "
        "put `openclone` on PATH, or set OPENCLONE_BIN to its path"
    )


def _stop(proc: "subprocess.Popen[str]", stderr: IO[str]) -> None:
    with contextlib.suppress(BrokenPipeError):  # a write it never read, if it died
        cast(IO[str], proc.stdin).close()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    cast(IO[str], proc.stdout).close()
    stderr.close()


class _Running:
    """A started checker: the process, its pipes and its stderr file."""

    def __init__(self, binary: Path) -> None:
        self.stderr: IO[str] = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        try:
            self.proc = subprocess.Popen(
                [str(binary), "plugins", "check-events"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.stderr,
                text=True,
                encoding="utf-8",
            )
        except OSError as e:
            self.stderr.close()
            raise CheckerUnavailable(f"{binary} plugins check-events could not start: {e}") from e
        self.stdin = cast(IO[str], self.proc.stdin)
        self.stdout = cast(IO[str], self.proc.stdout)
        self.stop = weakref.finalize(self, _stop, self.proc, self.stderr)

    def stderr_text(self) -> str:
        """What the process wrote to stderr so far."""
        self.stderr.flush()
        self.stderr.seek(0)
        return self.stderr.read().strip()


class Checker:
    """One `openclone plugins check-events` subprocess, started on first use and stopped
    by `close()`, when the checker is collected, or at interpreter exit."""

    def __init__(self) -> None:
        self._running: Optional[_Running] = None

    def check(
        self, source: str, events: List[Dict[str, Any]], accept_since: Optional[str]
    ) -> Dict[str, Any]:
        """The checker's answer to one `emit` call (the dict described above).

        Errors: `CheckerUnavailable` if the binary is missing or does not answer.
        """
        if self._running is None or self._running.proc.poll() is not None:
            self._running = _Running(find_binary())
        run = self._running
        line = json.dumps({"source": source, "events": events, "accept_since": accept_since})
        try:
            run.stdin.write(line + "\n")
            run.stdin.flush()
            answer = run.stdout.readline()
        except OSError as e:
            if run.proc.poll() is None:
                raise self._failed(f"could not talk to it: {e}") from e
            answer = ""
        if not answer:
            raise self._failed(
                "it ended without answering (a binary older than the subcommand? rebuild the host)"
            )
        try:
            reply = json.loads(answer)
        except ValueError as e:
            raise self._failed(f"it answered {answer.strip()!r}, not JSON") from e
        if not isinstance(reply, dict) or "ok" not in reply:
            raise self._failed(f"it answered {answer.strip()!r}")
        return reply

    def close(self) -> None:
        """Stops the subprocess (a later `check` starts a new one)."""
        if self._running is not None:
            self._running.stop()
            self._running = None

    def _failed(self, what: str) -> CheckerUnavailable:
        err = self._running.stderr_text() if self._running else ""
        self.close()
        return CheckerUnavailable(
            f"`openclone plugins check-events`: {what}" + (f"; its stderr: {err}" if err else "")
        )
