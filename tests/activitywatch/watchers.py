"""Drives an ActivityWatch API with ActivityWatch's own client library, as its watchers do.

Used by tests/activitywatch.rs (run with the virtualenv of requirements.txt):

  watchers.py morning --port P --day YYYY-MM-DD
      aw-watcher-window and aw-watcher-afk through aw-client 0.5.15 exactly as the
      watchers call it (create_bucket(queued=True), heartbeat(..., queued=True)), their
      poll loops compressed into a work morning on DAY (UTC): 09:00-09:20 a document in
      Firefox, 09:20-09:50 vim in a terminal, 09:50-10:05 away, 10:05-10:20 mail. Then
      the web extension's request sequence (aw-watcher-web src/background/client.ts and
      heartbeat.ts): info, a heartbeat answered 404, the bucket created, the heartbeat
      again, a tab switch. Waits until aw-client's queue is empty.

  watchers.py stream --port P --day YYYY-MM-DD
      A heartbeat stream with the merge rules' edge cases (exactly at end + pulsetime,
      just past it, out of order, data changes, zero pulsetime), sent without queueing;
      prints the bucket's events as JSON for the test to check against aw-server-rust's rules.
"""

import argparse
import json
import sys
import time
from datetime import datetime, timedelta, timezone

import requests
from aw_client import ActivityWatchClient
from aw_core.models import Event

CHROME_EXTENSION = "chrome-extension://nglaklhklhcoonedhgnpgddginnjdadi"


def client(name, port):
    return ActivityWatchClient(name, testing=False, host="127.0.0.1", port=port)


def at(day, hh, mm, ss=0):
    return datetime.fromisoformat(day).replace(
        hour=hh, minute=mm, second=ss, tzinfo=timezone.utc
    )


def drain(*clients, timeout=120):
    """Waits until every client's request queue has sent everything it holds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        queues = [c.request_queue for c in clients]
        if all(q._persistqueue.qsize() == 0 and q._current is None for q in queues):
            return
        time.sleep(0.1)
    sys.exit("aw-client's queue did not drain")


def morning(port, day):
    window = client("aw-watcher-window", port)
    afk = client("aw-watcher-afk", port)
    window_bucket = f"{window.client_name}_{window.client_hostname}"
    afk_bucket = f"{afk.client_name}_{afk.client_hostname}"
    window.create_bucket(window_bucket, "currentwindow", queued=True)
    afk.create_bucket(afk_bucket, "afkstatus", queued=True)
    window.connect()
    afk.connect()

    apps = [
        (at(day, 9, 0), at(day, 9, 20), {"app": "Firefox", "title": "Project plan - Google Docs"}),
        (at(day, 9, 20), at(day, 9, 50), {"app": "Alacritty", "title": "vim src/main.rs"}),
        (at(day, 10, 5), at(day, 10, 20), {"app": "Thunderbird", "title": "Inbox - Mail"}),
    ]
    # aw-watcher-window: a poll every second, pulsetime = poll_time + 1.
    for start, end, data in apps:
        t = start
        while t < end:
            window.heartbeat(window_bucket, Event(timestamp=t, data=data), pulsetime=2.0, queued=True)
            t += timedelta(seconds=1)
    # The screen is locked at the end: a last heartbeat with other data makes aw-client
    # send the pre-merged one (it keeps the newest heartbeat until the data changes, so
    # this last one stays in the client, as in the real watcher).
    window.heartbeat(
        window_bucket,
        Event(timestamp=at(day, 10, 20), data={"app": "loginwindow", "title": ""}),
        pulsetime=2.0,
        queued=True,
    )
    # aw-watcher-afk: a poll every 5 s, pulsetime = timeout + poll_time (its 180 s
    # timeout compressed to 1 s, so the last session closes within seconds).
    t = at(day, 9, 0)
    while t <= at(day, 10, 20):
        away = at(day, 9, 50) <= t < at(day, 10, 5)
        status = "afk" if away or t == at(day, 10, 20) else "not-afk"
        afk.heartbeat(afk_bucket, Event(timestamp=t, data={"status": status}), pulsetime=6.0, queued=True)
        t += timedelta(seconds=5)
    drain(window, afk)
    window.disconnect()
    afk.disconnect()
    web_extension(port, day)


def web_extension(port, day):
    """aw-watcher-web's requests (aw-client-js under the hood), with the extension's Origin."""
    base = f"http://127.0.0.1:{port}/api/0"
    h = {"Origin": CHROME_EXTENSION, "Content-Type": "application/json"}
    pre = requests.options(
        f"{base}/buckets/",
        headers={
            "Origin": CHROME_EXTENSION,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert pre.status_code in (200, 204), pre.status_code
    assert pre.headers.get("Access-Control-Allow-Origin") == CHROME_EXTENSION, pre.headers
    hostname = requests.get(f"{base}/info", headers=h).json()["hostname"]
    bucket = f"aw-watcher-web-chrome_{hostname}"
    pulsetime = 60 + 20

    def beat(ts, data):
        return requests.post(
            f"{base}/buckets/{bucket}/heartbeat",
            params={"pulsetime": pulsetime},
            headers=h,
            data=json.dumps({"timestamp": ts.isoformat().replace("+00:00", "Z"), "duration": 0, "data": data}),
        )

    docs = {"url": "https://docs.rs/tokio/latest/tokio/", "title": "tokio - Rust", "audible": False, "incognito": False, "tabCount": 3}
    news = {"url": "https://news.ycombinator.com/item?id=1", "title": "Hacker News", "audible": False, "incognito": False, "tabCount": 4}
    secret = {"url": "https://example.org/private", "title": "Private", "audible": False, "incognito": True, "tabCount": 1}
    first = beat(at(day, 10, 6), docs)
    assert first.status_code == 404, first.status_code
    created = requests.post(
        f"{base}/buckets/{bucket}",
        headers=h,
        data=json.dumps({"client": "aw-client-web", "type": "web.tab.current", "hostname": hostname}),
    )
    assert created.status_code == 200, created.status_code
    again = requests.post(
        f"{base}/buckets/{bucket}",
        headers=h,
        data=json.dumps({"client": "aw-client-web", "type": "web.tab.current", "hostname": hostname}),
    )
    assert again.status_code == 304, again.status_code
    for minute in range(6, 16):
        r = beat(at(day, 10, minute), docs)
        assert r.status_code == 200, r.text
    # A tab switch: the previous data 1 ms before, then the new tab (heartbeat.ts).
    switch = at(day, 10, 16)
    assert beat(switch - timedelta(milliseconds=1), docs).status_code == 200
    assert beat(switch, news).status_code == 200
    assert beat(at(day, 10, 17), news).status_code == 200
    assert beat(at(day, 10, 18), docs).status_code == 200
    # A private window, then back: the private tab's session closes and is not written;
    # the last tab stays open (pulsetime 80 s) and is not awaited by the test.
    assert beat(at(day, 10, 18, 30), secret).status_code == 200
    assert beat(at(day, 10, 19), news).status_code == 200


def stream(port, day):
    """Heartbeats covering the merge rules; prints the resulting events."""
    c = client("aw-watcher-reference", port)
    bucket = "reference-stream"
    c.create_bucket(bucket, "currentwindow")
    a = {"app": "A", "title": "one"}
    b = {"app": "B", "title": "two"}
    t0 = at(day, 8, 0)
    beats = [
        (0, a, 5), (3, a, 5), (8, a, 5),           # within pulsetime, exactly at end + pulsetime
        (14, a, 5),                                 # just past: a new event
        (15, b, 5), (16, a, 5),                     # data changes twice
        (16, a, 0), (16.5, a, 0), (17, a, 1),       # zero pulsetime, then 1 s
        (10, a, 60),                                # out of order: before the last start
        (40, a, 60), (99.999, a, 60), (100.001, a, 60),  # long pulsetime, sub-second edges
    ]
    for offset, data, pulse in beats:
        c.heartbeat(bucket, Event(timestamp=t0 + timedelta(seconds=offset), data=data), pulsetime=pulse)
    events = c.get_events(bucket, limit=-1)
    print(json.dumps([
        {"timestamp": e.timestamp.astimezone(timezone.utc).isoformat(), "duration": e.duration.total_seconds(), "data": e.data}
        for e in events
    ]))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["morning", "stream"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--day", required=True)
    args = p.parse_args()
    {"morning": morning, "stream": stream}[args.mode](args.port, args.day)


if __name__ == "__main__":
    main()
