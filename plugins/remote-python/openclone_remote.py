#!/usr/bin/env python3
"""Reference remote plugin for OpenClone: posts a folder of notes to POST /api/v1/ingest.

Standard library only. What it shows a plugin author:

* an on-disk outbox: batches are written (atomically, fsynced) to OUTBOX/pending before they
  are sent and removed only after a 200, so nothing is lost across this process's restarts;
  a note is marked seen (OUTBOX/seen.json) only after its batch is safely in the outbox;
* batches split at 500 events and 1 MiB (the contract's limits);
* retries with exponential backoff and jitter on 429 and 5xx and on connection errors,
  honouring Retry-After; a 4xx other than 429 moves the batch to OUTBOX/failed with the
  answer, so one bad batch never blocks the rest;
* stable raw_refs (path + content hash), so a resend after a crash is skipped by the host;
* a note's time is its own (its modification time): one the contract refuses (before
  2020-01-01, more than a day ahead) is held back, never given another time.

Usage:
  openclone_remote.py --url http://127.0.0.1:8000 --key KEY --notes DIR --outbox DIR \
                      [--device-id ID] [--once] [--interval 60] [--max-seconds N]
The key can also come from $API_KEY.
"""

import argparse
import hashlib
import json
import os
import random
import sys
import time
import urllib.error
import urllib.request
import uuid

PLUGIN_ID = "remote-python"
PLUGIN_VERSION = "0.1.0"
MAX_EVENTS = 500
MAX_BYTES = 1024 * 1024 - 4096  # room for the envelope
MAX_TEXT = 60 * 1024  # the host caps a field at 64 KiB anyway
EARLIEST = 1577836800.0  # the contract refuses anything before 2020-01-01
AHEAD = 86400.0 - 60.0  # ... and more than 24 h ahead (a minute's margin for clock skew)


def log(msg):
    print(f"remote-python: {msg}", file=sys.stderr, flush=True)


def atomic_write(path, data):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dfd = os.open(os.path.dirname(path) or ".", os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def load_json(path, default):
    try:
        with open(path, "rb") as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def note_event(root, path):
    with open(path, "rb") as f:
        raw = f.read()
    text = raw.decode("utf-8", errors="replace")
    digest = hashlib.sha256(raw).hexdigest()[:16]
    rel = os.path.relpath(path, root).replace(os.sep, "/")
    title = next((l.lstrip("# ").strip() for l in text.splitlines() if l.strip()), os.path.splitext(os.path.basename(path))[0])
    event = {"timestamp": os.path.getmtime(path), "data": {"title": title[:200], "text": text[:MAX_TEXT], "path": rel}, "raw_ref": f"{rel}#{digest}"}
    return rel, digest, event


def split(events):
    """Greedy batches of at most MAX_EVENTS events and MAX_BYTES of JSON."""
    batch, size = [], 0
    for e in events:
        n = len(json.dumps(e, ensure_ascii=False).encode()) + 1
        if batch and (len(batch) >= MAX_EVENTS or size + n > MAX_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(e)
        size += n
    if batch:
        yield batch


def scan(notes, outbox, device_id):
    """Queues every new or changed note into the outbox; returns how many."""
    seen_path = os.path.join(outbox, "seen.json")
    seen = load_json(seen_path, {})
    fresh, marks, held = [], {}, 0
    for dirpath, dirnames, filenames in os.walk(notes):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.endswith((".md", ".txt")) or name.startswith("."):
                continue
            try:
                rel, digest, event = note_event(notes, os.path.join(dirpath, name))
            except OSError as e:
                log(f"{name}: cannot be read: {e}")
                continue
            if seen.get(rel) == digest:
                continue
            if not EARLIEST <= event["timestamp"] <= time.time() + AHEAD:
                held += 1  # not marked seen: sent once its time is one the contract takes
                continue
            fresh.append(event)
            marks[rel] = digest
    if held:
        log(f"{held} note(s) last changed before 2020-01-01 or more than a day ahead not sent: the contract refuses them, and a note keeps its own time")
    pending = os.path.join(outbox, "pending")
    for batch in split(fresh):
        body = {"source_type": "notes", "platform": "linux", "device_id": device_id, "plugin_id": PLUGIN_ID,
                "plugin_version": PLUGIN_VERSION, "timestamp": time.time(), "events": batch}
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.json"
        atomic_write(os.path.join(pending, name), json.dumps(body, ensure_ascii=False).encode())
    if marks:
        seen.update(marks)
        atomic_write(seen_path, json.dumps(seen).encode())
    return len(fresh)


def post(url, key, body):
    req = urllib.request.Request(f"{url}/api/v1/ingest", data=body, method="POST",
                                 headers={"Content-Type": "application/json", "X-API-Key": key})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def deliver(url, key, outbox, deadline):
    """Sends pending batches in order; returns True when the outbox is empty."""
    pending = os.path.join(outbox, "pending")
    for name in sorted(os.listdir(pending)):
        if ".tmp" in name:
            continue
        path = os.path.join(pending, name)
        with open(path, "rb") as f:
            body = f.read()
        attempt = 0
        while True:
            if deadline and time.time() > deadline:
                return False
            try:
                status, headers, answer = post(url, key, body)
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as e:
                status, headers, answer = None, {}, str(e).encode()
            if status == 200:
                result = json.loads(answer)
                log(f"sent {name}: stored {result['stored']}, skipped {result['skipped']}")
                os.remove(path)
                break
            if status == 429 or status is None or status >= 500:
                retry_after = headers.get("Retry-After") or headers.get("retry-after")
                wait = float(retry_after) if retry_after else min(30.0, 0.5 * 2 ** attempt) * (0.5 + random.random())
                log(f"{name}: {status or 'no connection'} — retrying in {wait:.1f} s (attempt {attempt + 1})")
                attempt += 1
                time.sleep(wait)
                continue
            failed = os.path.join(outbox, "failed")
            os.makedirs(failed, exist_ok=True)
            os.replace(path, os.path.join(failed, name))
            atomic_write(os.path.join(failed, name + ".answer"), answer)
            log(f"{name}: refused with {status}; moved to outbox/failed: {answer[:300]!r}")
            break
    return True


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", default="http://127.0.0.1:8000")
    p.add_argument("--key", default=os.environ.get("API_KEY", ""))
    p.add_argument("--notes", required=True)
    p.add_argument("--outbox", required=True)
    p.add_argument("--device-id", default=None)
    p.add_argument("--once", action="store_true", help="queue and deliver once, then exit")
    p.add_argument("--interval", type=float, default=60.0)
    p.add_argument("--max-seconds", type=float, default=0.0, help="give up delivering after this long (0: never)")
    a = p.parse_args()
    if not a.key:
        p.error("an API key is needed: --key or $API_KEY")
    os.makedirs(os.path.join(a.outbox, "pending"), exist_ok=True)
    id_path = os.path.join(a.outbox, "device-id")
    device_id = a.device_id or load_json(id_path, None)
    if not device_id:
        device_id = str(uuid.uuid4())
        atomic_write(id_path, json.dumps(device_id).encode())
    deadline = time.time() + a.max_seconds if a.max_seconds else 0
    while True:
        queued = scan(a.notes, a.outbox, device_id)
        if queued:
            log(f"queued {queued} new or changed note(s)")
        empty = deliver(a.url, a.key, a.outbox, deadline)
        if a.once:
            sys.exit(0 if empty else 1)
        time.sleep(a.interval)


if __name__ == "__main__":
    main()
