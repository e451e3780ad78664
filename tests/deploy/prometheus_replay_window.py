#!/usr/bin/env python3
"""Starts Prometheus with deploy/prometheus/prometheus.yml as shipped (plus
--web.enable-remote-write-receiver) and checks what the config promises:

- all rule files load (every alert and recording rule of deploy/prometheus/rules is active);
- remote write accepts what an offline device replays: a new series 48 h old, and a sample 10 min
  older than its series' newest one (both refused by 2.42 without an out-of-order window);
- and still refuses a sample older than the 3 d window (so the window is 3 d, not unbounded);
- a replayed sample can be read back at its own timestamp.

Remote-write requests (protobuf WriteRequest, snappy block) are encoded here by hand: snappy
allows a block of literals only, and the three protobuf messages need a dozen lines.
Exits 77 (skipped) only when prometheus is not installed.
Usage: prometheus_replay_window.py [REPO]
"""
import glob
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field(number, wire_type, payload):
    key = varint(number << 3 | wire_type)
    if wire_type == 2:
        return key + varint(len(payload)) + payload
    return key + payload


def write_request(series):
    """series: [(labels dict, [(timestamp_ms, value)])] -> protobuf prometheus.WriteRequest."""
    out = b""
    for labels, samples in series:
        ts = b""
        for name, value in sorted(labels.items()):
            ts += field(1, 2, field(1, 2, name.encode()) + field(2, 2, value.encode()))
        for t_ms, v in samples:
            ts += field(2, 2, field(1, 1, struct.pack("<d", v)) + field(2, 0, varint(t_ms)))
        out += field(1, 2, ts)
    return out


def snappy_literal_block(data):
    """A valid snappy block holding data as literals (64 KiB at most per literal here)."""
    out = bytearray(varint(len(data)))
    for i in range(0, len(data), 65536):
        chunk = data[i:i + 65536]
        n = len(chunk) - 1
        if n < 60:
            out.append(n << 2)
        else:
            out.append(61 << 2)  # two length bytes follow
            out += struct.pack("<H", n)
        out += chunk
    return bytes(out)


def remote_write(base, series):
    body = snappy_literal_block(write_request(series))
    req = urllib.request.Request(base + "/api/v1/write", data=body, method="POST", headers={
        "Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
        "X-Prometheus-Remote-Write-Version": "0.1.0"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, ""
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace").strip()


def get(base, path, **params):
    with urllib.request.urlopen(base + path + "?" + urllib.parse.urlencode(params), timeout=10) as r:
        return json.load(r)["data"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(workdir, config):
    port = free_port()
    log = open(os.path.join(workdir, "prometheus.log"), "w")
    proc = subprocess.Popen(["prometheus", f"--config.file={config}", f"--storage.tsdb.path={workdir}/tsdb",
                             f"--web.listen-address=127.0.0.1:{port}", "--web.enable-remote-write-receiver"],
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        if proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(base + "/-/ready", timeout=2):
                return proc, base
        except OSError:
            time.sleep(0.5)
    proc.kill()
    proc.wait()
    print(open(os.path.join(workdir, "prometheus.log")).read()[-3000:])
    raise SystemExit("FAIL: prometheus did not become ready with deploy/prometheus/prometheus.yml")


def checks(repo, base):
    errors = []
    expected = 0
    for path in glob.glob(os.path.join(repo, "deploy", "prometheus", "rules", "*.yml")):
        expected += sum(line.lstrip().startswith(("- alert:", "- record:")) for line in open(path))
    loaded = sum(len(g["rules"]) for g in get(base, "/api/v1/rules")["groups"])
    if loaded != expected or not expected:
        errors.append(f"{loaded} rules loaded, the rule files hold {expected}")
    now_ms = int(time.time() * 1000)
    ident = {"device": "cam-01", "site": "plant-a", "cell": "line-1", "release": "2026.11.0"}
    live = dict(ident, __name__="edgefleet_device_uptime_seconds")
    replayed = dict(ident, __name__="edgefleet_agent_spool_bytes")
    too_old = dict(ident, __name__="edgefleet_agent_resident_memory_bytes")
    cases = [  # what, series, accepted?
        ("a live sample (moves the head forward)", [(live, [(now_ms, 1.0)])], True),
        ("a new series 48 h old", [(replayed, [(now_ms - 48 * 3600_000, 4096.0)])], True),
        ("a sample 10 min older than its series' newest", [(live, [(now_ms - 600_000, 2.0)])], True),
        ("a new series 80 h old (past the 3 d window)", [(too_old, [(now_ms - 80 * 3600_000, 1.0)])], False),
    ]
    for what, series, accepted in cases:
        status, text = remote_write(base, series)
        if (200 <= status < 300) != accepted:
            errors.append(f"{what}: HTTP {status} {text!r}, expected {'2xx' if accepted else 'a refusal'}")
        else:
            print(f"ok: {what}: HTTP {status} {text[:80]}")
    at = (now_ms - 48 * 3600_000) / 1000
    result = get(base, "/api/v1/query", query='edgefleet_agent_spool_bytes{device="cam-01"}', time=at)["result"]
    if [float(s["value"][1]) for s in result] != [4096.0]:
        errors.append(f"the 48 h old sample does not read back: {result}")
    return errors


def main():
    repo = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    if not shutil.which("prometheus"):
        print("SKIP: prometheus not installed (Debian package: prometheus)")
        return 77
    workdir = tempfile.mkdtemp(prefix="edgefleet-replay-window-")
    proc = None
    try:
        # The shipped file, unchanged; its rule_files are relative to it, so copy rules/ alongside.
        shutil.copy(os.path.join(repo, "deploy", "prometheus", "prometheus.yml"), workdir)
        shutil.copytree(os.path.join(repo, "deploy", "prometheus", "rules"), os.path.join(workdir, "rules"))
        proc, base = start(workdir, os.path.join(workdir, "prometheus.yml"))
        errors = checks(repo, base)
        for e in errors:
            print("FAIL:", e)
        if not errors:
            print("OK: the shipped config loads every rule and accepts a 72 h replay window")
        return 1 if errors else 0
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
