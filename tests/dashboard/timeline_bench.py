"""The dashboard's day view of a busy day, in a real browser: time to first byte and full
page load (BENCHMARKS.md, "Timeline of a 20,000-entry day").

    target/venvs/dashboard/bin/python tests/dashboard/timeline_bench.py target/release/openclone [ENTRIES] [RUNS]

Starts the host on a fresh data folder, posts ENTRIES (default 20,000) notes events for one
day through POST /api/v1/ingest (500 per batch), waits until GET /api/v1/timeline lists
them all, signs in to the dashboard in Debian's chromium (headless, through Selenium and
Debian's chromedriver, as tests/dashboard/browser.py does) and opens that day RUNS times
(default 10). Prints the median and worst of the Navigation Timing figures: responseStart
(first byte), responseEnd (last byte), domContentLoadedEventEnd and loadEventEnd, each from
the navigation's start, the first contentful paint, and the page's size.
"""

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

from selenium.webdriver.common.by import By

import chrome

binary = os.path.abspath(sys.argv[1])
entries = int(sys.argv[2]) if len(sys.argv) > 2 else 20_000
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 10
key = "bench-timeline-key"
day = "2026-11-02"
start = 1793577600  # 2026-11-02T00:00:00Z

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
base = f"http://127.0.0.1:{port}"
tmp = tempfile.mkdtemp(prefix="openclone-timeline-")
with open(os.path.join(tmp, "openclone.toml"), "w") as f:
    f.write(f'data_dir = "{tmp}/oc"\nplugins_dir = "{tmp}/plugins"\n'
            "[ingest]\nrate_burst = 1000000\nrate_per_s = 1000000.0\n")
host = subprocess.Popen([binary, "serve", "--config", f"{tmp}/openclone.toml", "--listen", f"127.0.0.1:{port}"],
                        env={**os.environ, "API_KEY": key}, cwd=tmp,
                        stdout=open(f"{tmp}/host.log", "w"), stderr=subprocess.STDOUT)


def call(path, body=None):
    req = urllib.request.Request(base + path, data=body and json.dumps(body).encode(),
                                 headers={"X-API-Key": key, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


try:
    for _ in range(300):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    words = ("harbour lighthouse quarterly plan restoration kestrel meeting notes draft review "
             "budget garden bicycle ferry letter invoice recipe").split()
    step = 86_000 / entries
    for b in range(0, entries, 500):
        events = [{"timestamp": start + 60 + (b + i) * step,
                   "data": {"text": " ".join(words[(b + i + k) % len(words)] for k in range(12)) + f" #{b + i}"},
                   "raw_ref": f"t{b + i}"} for i in range(min(500, entries - b))]
        call("/api/v1/ingest", {"source_type": "notes", "platform": "linux", "device_id": "bench",
                                "plugin_id": "bench-timeline", "plugin_version": "1.0.0",
                                "timestamp": start, "events": events})
    for _ in range(600):
        if len(call(f"/api/v1/timeline?day={day}")["items"]) >= entries:
            break
        time.sleep(0.5)
    else:
        sys.exit("the index did not list every entry in 5 minutes")

    driver = chrome.driver()
    driver.implicitly_wait(30)
    driver.set_page_load_timeout(120)
    figures = []
    try:
        driver.get(base + "/")
        driver.find_element(By.ID, "key").send_keys(key)
        driver.find_element(By.ID, "signin").click()
        driver.find_element(By.ID, "timeline")
        for _ in range(runs):
            driver.get(f"{base}/?day={day}")
            rows = len(driver.find_elements(By.CSS_SELECTOR, "#timeline tr")) - 1
            assert rows == entries, f"{rows} rows shown, {entries} expected"
            figures.append(driver.execute_script(
                "const n = performance.getEntriesByType('navigation')[0];"
                "return [n.responseStart, n.responseEnd, n.domContentLoadedEventEnd, n.loadEventEnd,"
                " n.transferSize, n.decodedBodySize,"
                " (performance.getEntriesByName('first-contentful-paint')[0] || {startTime: -1}).startTime];"))
    finally:
        driver.quit()
    names = ["first byte", "last byte", "DOMContentLoaded", "load"]
    for i, name in [*enumerate(names), (6, "first contentful paint")]:
        xs = [f[i] for f in figures]
        print(f"{name}: median {statistics.median(xs):.0f} ms, worst {max(xs):.0f} ms")
    print(f"page: {figures[0][5] / 1e6:.2f} MB ({figures[0][4] / 1e6:.2f} MB transferred), {entries} rows, {runs} loads")
finally:
    host.terminate()
    host.wait()
