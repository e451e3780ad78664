#!/usr/bin/env python3
"""Runs every query of the edgefleet Grafana dashboards against a real Prometheus.

1. Checks each dashboard's structure: uid (unique), title, schemaVersion >= 37, the datasource
   variable and the site/cell/device/model_version variables, panels with a datasource, a unit
   and targets; ranges in queries use $__rate_interval or $__range, never a fixed window.
2. Writes two hours of synthetic fleet telemetry (2 sites x 3 cells x 2 devices, two model
   versions, one device hot-swapping, one restarting on another version two minutes before the
   end, one offline, one camera down) as OpenMetrics, backfills it with
   `promtool tsdb create-blocks-from openmetrics`, starts `prometheus` on a free loopback port.
3. Substitutes the template variables ($site -> .*, $__rate_interval -> 1m, ...; then again
   with one device selected: plant-a, line-1, cam-a12, v2) and runs every variable query
   (label_values) and every panel target at a time inside the data. A query that
   errors, returns nothing or only NaN fails, naming dashboard, panel and query.
4. On the same data: every recording rule of deploy/prometheus/rules must return samples (the
   real label sets and bucket bounds reach them), every alert expression must evaluate, and the
   two faults planted in the data (cam-b31's camera down, cam-b32 offline) must be exactly what
   EdgefleetCameraDown and EdgefleetDeviceOffline select.

Exits 77 (skipped) only when prometheus or promtool is not installed.
Usage: dashboard_queries.py [REPO]
       dashboard_queries.py --self-test   broken dashboards (bad metric, parse error, unknown
                                          variable, fixed window, no unit, old schema) must fail
"""
import glob
import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

STEP = 30          # seconds between synthetic samples
SPAN = 2 * 3600    # seconds of synthetic data
VARIABLES = {"site": ".*", "cell": ".*", "device": ".*", "model_version": ".*",
             "__rate_interval": "1m", "__interval": "30s", "__range": "1h", "datasource": "prometheus"}
LAT_BOUNDS = [0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 1.0]
SCORE_BOUNDS = [0.1, 0.25, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5, 2.0, 4.0]


# ---- structure -----------------------------------------------------------------------------

def check_structure(name, d):
    errors = []
    for key in ("uid", "title", "templating", "panels"):
        if not d.get(key):
            errors.append(f"{name}: missing {key}")
    if not isinstance(d.get("schemaVersion"), int) or d["schemaVersion"] < 37:
        errors.append(f"{name}: schemaVersion {d.get('schemaVersion')!r} < 37")
    variables = {v.get("name"): v for v in (d.get("templating") or {}).get("list", [])}
    if (variables.get("datasource") or {}).get("type") != "datasource":
        errors.append(f"{name}: no datasource variable")
    for var in ("site", "cell", "device", "model_version"):
        v = variables.get(var)
        if not v or v.get("type") != "query" or "label_values(" not in json.dumps(v.get("query")):
            errors.append(f"{name}: variable {var} missing or not a label_values query")
    ids = [p.get("id") for p in d.get("panels", [])]
    if len(ids) != len(set(ids)):
        errors.append(f"{name}: duplicate panel ids")
    for p in d.get("panels", []):
        where = f"{name} / {p.get('title')!r}"
        if "$" not in json.dumps(p.get("datasource")):
            errors.append(f"{where}: panel datasource is not the datasource variable")
        if not ((p.get("fieldConfig") or {}).get("defaults") or {}).get("unit"):
            errors.append(f"{where}: no unit")
        if not p.get("targets"):
            errors.append(f"{where}: no targets")
        for t in p.get("targets", []):
            expr = t.get("expr", "")
            if "$" not in json.dumps(t.get("datasource")):
                errors.append(f"{where}: target datasource is not the datasource variable")
            for window in re.findall(r"\[([^\]]*)\]", expr):
                if window not in ("$__rate_interval", "$__range"):
                    errors.append(f"{where}: fixed range [{window}] (use $__rate_interval): {expr}")
    return errors


# A second pass selects one device the way a viewer would (all filters set, consistent).
ONE_DEVICE = dict(VARIABLES, site="plant-a", cell="line-1", device="cam-a12", model_version="v2")


def substitute(expr, variables=VARIABLES):
    def value(m):
        name = m.group(1) or m.group(2)
        if name not in variables:
            raise KeyError(f"unknown template variable ${name}")
        return variables[name]
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, expr)


def variable_queries(d):
    """label_values(metric{sel}, label) of each query variable, as an instant PromQL query."""
    out = []
    for v in d["templating"]["list"]:
        if v.get("type") != "query":
            continue
        q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
        m = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", q.strip())
        if not m:
            raise ValueError(f"variable {v['name']}: cannot read {q!r}")
        out.append((f"variable ${v['name']}", f"count by ({m.group(2)}) ({m.group(1)})"))
    return out


# ---- synthetic data ------------------------------------------------------------------------

def lognormal_cdf(x, median, sigma):
    return 0.5 * (1 + math.erf(math.log(x / median) / (sigma * math.sqrt(2))))


def fleet():
    devices = []
    for s in ("a", "b"):
        for c in (1, 2, 3):
            for n in (1, 2):
                devices.append({"device": f"cam-{s}{c}{n}", "site": f"plant-{s}", "cell": f"line-{c}",
                                "model": "v1" if n == 1 else "v2"})
    devices[0]["switch"] = "v2"          # cam-a11 hot-swaps from v1 to v2 halfway
    devices[7]["restart_to"] = "v1"      # cam-b12 restarts on v1 two minutes before the end: its
                                         # v2 series stop with model_info still 1 (not yet stale)
    devices[-1]["offline_after"] = 0.75  # cam-b32 goes offline for the last 30 min
    return devices


class Writer:
    """Collects samples per series, then writes OpenMetrics with each metric's lines together."""

    def __init__(self):
        self.series = {}

    def add(self, name, labels, t, value):
        key = (name, tuple(sorted(labels.items())))
        self.series.setdefault(key, []).append((t, value))

    def write(self, path):
        with open(path, "w") as f:
            for (name, labels), samples in sorted(self.series.items()):
                text = ",".join(f'{k}="{v}"' for k, v in labels)
                for t, v in samples:
                    f.write(f"{name}{{{text}}} {v:.6g} {t}\n")
            f.write("# EOF\n")
        return sum(len(s) for s in self.series.values())


def model_series(w, ident, version, t, i, state):
    """Per-model runtime series of one device at step i (counters kept in state)."""
    lab = dict(ident, model_version=version)
    fps = 20 + (5 if version == "v2" else 0)
    median, sigma = (0.02, 0.35) if version == "v1" else (0.028, 0.3)
    st = state.setdefault(version, {"frames": 0.0, "lat": [0.0] * 14, "score": [0.0] * 14, "pass": 0.0,
                                    "reject": 0.0, "lsum": 0.0, "ssum": 0.0, "ovr": 0.0})
    running = state["current"] == version
    if running:
        n = fps * STEP
        st["frames"] += n
        for k, b in enumerate(LAT_BOUNDS):
            st["lat"][k] += n * lognormal_cdf(b, median, sigma)
        st["lat"][13] += n
        for k, b in enumerate(SCORE_BOUNDS):
            st["score"][k] += n * lognormal_cdf(b, 0.45 if version == "v1" else 0.55, 0.5)
        st["score"][13] += n
        reject = n * (1 - lognormal_cdf(1.0, 0.45 if version == "v1" else 0.55, 0.5))
        st["reject"] += reject
        st["pass"] += n - reject
        st["lsum"] += n * median * 1.06
        st["ssum"] += n * 0.5
        st["ovr"] += 0.02 * n
    w.add("edgefleet_runtime_frames_processed_total", lab, t, st["frames"])
    for name, bounds, key, total in (("edgefleet_runtime_inference_duration_seconds", LAT_BOUNDS, "lat", "lsum"),
                                     ("edgefleet_runtime_anomaly_score_ratio", SCORE_BOUNDS, "score", "ssum")):
        for k, b in enumerate(bounds + [math.inf]):
            w.add(name + "_bucket", dict(lab, le="+Inf" if b == math.inf else f"{b:g}"), t, st[key][k])
        w.add(name + "_sum", lab, t, st[total])
        w.add(name + "_count", lab, t, st[key][13])
    for d in ("pass", "reject"):
        w.add("edgefleet_runtime_decisions_total", dict(lab, decision=d), t, st[d])
    w.add("edgefleet_runtime_overrides_total", dict(lab, **{"from": "reject", "to": "pass"}), t, st["ovr"])
    w.add("edgefleet_runtime_model_info", dict(lab, model_name="surface", backend="onnxruntime"), t, 1 if running else 0)
    if running:
        for q, z in (("0.5", 0), ("0.95", 1.645), ("0.99", 2.326)):
            w.add("edgefleet_runtime_inference_duration_recent_seconds", dict(lab, quantile=q), t, median * math.exp(sigma * z))
            w.add("edgefleet_runtime_anomaly_score_ratio_recent", dict(lab, quantile=q), t, 0.5 * math.exp(0.5 * z))
        w.add("edgefleet_runtime_anomaly_score_ratio_recent_mean", lab, t, 0.5)


def device_series(w, dev, t0, i, state):
    t = t0 + i * STEP
    ident = {k: dev[k] for k in ("device", "site", "cell")}
    ident["release"] = "2026.11.0" if state["current"] == "v1" else "2026.12.0"
    w.add("edgefleet_device_cpu_usage_ratio", ident, t, 0.3 + 0.1 * math.sin(i / 20))
    w.add("edgefleet_device_memory_total_bytes", ident, t, 8e9)
    w.add("edgefleet_device_memory_available_bytes", ident, t, 5e9 - 1e6 * i)
    w.add("edgefleet_device_disk_total_bytes", dict(ident, mount="data"), t, 64e9)
    w.add("edgefleet_device_disk_free_bytes", dict(ident, mount="data"), t, 20e9 - 1e7 * i)
    w.add("edgefleet_device_temperature_celsius", dict(ident, sensor="thermal_zone0/x86_pkg_temp"), t, 55 + 5 * math.sin(i / 30))
    w.add("edgefleet_device_cpu_throttle_events_total", dict(ident, scope="package"), t, i // 10)
    w.add("edgefleet_device_uptime_seconds", ident, t, 86400 + i * STEP)
    w.add("edgefleet_agent_spool_pending_scrapes", ident, t, 1 + (i % 3))
    w.add("edgefleet_agent_spool_bytes", ident, t, 40000 + 1000 * (i % 3))
    for result, every in (("committed", 60), ("failed", 200), ("rolled_back", 400)):
        w.add("edgefleet_agent_updates_total", dict(ident, result=result), t, i // every)
    w.add("edgefleet_runtime_frames_per_second", ident, t, 20)
    w.add("edgefleet_runtime_uptime_seconds", ident, t, 3600 + i * STEP)
    w.add("edgefleet_runtime_healthy", ident, t, 1)
    w.add("edgefleet_runtime_camera_connected", ident, t, 0 if dev["device"] == "cam-b31" and i > 200 else 1)
    w.add("edgefleet_runtime_last_inference_timestamp_seconds", ident, t, t - 0.05)
    for reason, per_step in (("queue_full", 3), ("camera_overrun", 1)):
        w.add("edgefleet_runtime_frames_dropped_total", dict(ident, reason=reason), t, per_step * i)
    for kind, per_step in (("override", 0.5), ("acknowledge", 1)):
        w.add("edgefleet_runtime_operator_interactions_total", dict(ident, kind=kind), t, per_step * i)
    for version in sorted({dev["model"], dev.get("switch"), dev.get("restart_to")} - {None}):
        if version not in state.get("gone", ()) and (version in state or state["current"] == version):
            model_series(w, ident, version, t, i, state)


def synthesize(path, t_end):
    w = Writer()
    steps = SPAN // STEP
    t0 = t_end - steps * STEP
    server = {"job": "edgefleet-server", "instance": "127.0.0.1:8443"}
    for dev in fleet():
        state = {"current": dev["model"]}
        last = int(steps * dev.get("offline_after", 1))
        for i in range(steps + 1):
            if "switch" in dev and i == steps // 2:
                state["current"] = dev["switch"]
            if "restart_to" in dev and i == steps - 4:
                state["gone"] = {state["current"]}
                state["current"] = dev["restart_to"]
            online = i <= last
            w.add("edgefleet_server_device_online", dict(server, device=dev["device"], site=dev["site"], cell=dev["cell"]),
                  t0 + i * STEP, 1 if online else 0)
            if online:
                device_series(w, dev, t0, i, state)
    # The server's shift gauge (edgefleet-server --shifts): every site changes from "day" to "night"
    # halfway, for the cell_shift:* recording rules to join on.
    sites = sorted({dev["site"] for dev in fleet()})
    for i in range(steps + 1):
        current = "day" if i < steps // 2 else "night"
        for site in sites:
            for shift in ("day", "night"):
                w.add("edgefleet_server_site_shift", dict(server, site=site, shift=shift), t0 + i * STEP,
                      1 if shift == current else 0)
    for i in range(steps + 1):
        t = t0 + i * STEP
        for outcome, reason, per_step in (("received", "", 900), ("relayed", "", 880), ("dropped", "too_old", 5),
                                          ("parked", "prometheus_unavailable", 10), ("refused", "bad_label", 5)):
            labels = dict(server, outcome=outcome, **({"reason": reason} if reason else {}))
            w.add("edgefleet_server_telemetry_samples_total", labels, t, per_step * i)
        w.add("edgefleet_server_telemetry_queue_bytes", server, t, 1e5)
        w.add("edgefleet_server_telemetry_relay_oldest_age_seconds", server, t, 12)
    return w.write(path)


# ---- Prometheus ----------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def query_result(base, expr, at):
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr, "time": at})
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.load(r)["data"]["result"]


def check_rules(repo, base, at):
    """Recording rules return data, alert expressions evaluate, planted faults are found."""
    try:
        import yaml
    except ImportError:
        return ["python3 yaml module missing (Debian package: python3-yaml)"], 0
    errors, count = [], 0
    selected = {}
    for path in sorted(glob.glob(os.path.join(repo, "deploy", "prometheus", "rules", "*.yml"))):
        for group in yaml.safe_load(open(path)).get("groups", []):
            for rule in group.get("rules", []):
                count += 1
                name = rule.get("record") or rule.get("alert")
                problem = query(base, rule["expr"], at)
                if problem and (rule.get("record") or problem.startswith("error")):
                    errors.append(f"{os.path.basename(path)} / {name}: {problem}")
                if rule.get("alert") in ("EdgefleetCameraDown", "EdgefleetDeviceOffline"):
                    selected[rule["alert"]] = sorted(s["metric"].get("device") for s in query_result(base, rule["expr"], at))
    for alert, device in (("EdgefleetCameraDown", "cam-b31"), ("EdgefleetDeviceOffline", "cam-b32")):
        if selected.get(alert) != [device]:
            errors.append(f"{alert}: selects {selected.get(alert)} on the synthetic fleet, expected [{device!r}]")
    return errors, count


def query(base, expr, at):
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr, "time": at})
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            body = json.load(r)
    except urllib.error.HTTPError as e:
        body = json.load(e)
    if body.get("status") != "success":
        return f"error: {body.get('errorType')}: {body.get('error')}"
    result = body["data"]["result"]
    values = [float(s["value"][1]) for s in result] if body["data"]["resultType"] == "vector" else []
    if body["data"]["resultType"] == "scalar":
        values = [float(result[1])]
    if not values:
        return "empty result"
    if all(math.isnan(v) for v in values):
        return "only NaN"
    return None


def start_prometheus(workdir, tsdb):
    config = os.path.join(workdir, "prometheus.yml")
    with open(config, "w") as f:
        f.write("global:\n  scrape_interval: 1m\n")
    port = free_port()
    log = open(os.path.join(workdir, "prometheus.log"), "w")
    proc = subprocess.Popen(["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tsdb}",
                             "--storage.tsdb.retention.time=30d", f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        if proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(base + "/-/ready", timeout=2) as r:
                if r.status == 200:
                    return proc, base
        except OSError:
            pass
        time.sleep(0.5)
    proc.kill()
    proc.wait()
    sys.stdout.write(open(os.path.join(workdir, "prometheus.log")).read()[-3000:])
    raise SystemExit("FAIL: prometheus did not become ready")


def run_queries(dashboards, base, at):
    errors, count = [], 0
    for name, d in dashboards:
        checks = variable_queries(d)
        for p in d["panels"]:
            checks += [(f"panel {p.get('title')!r} target {t.get('refId')}", t["expr"]) for t in p.get("targets", [])]
        for where, expr in checks:
            for label, variables in (("all selected", VARIABLES), ("one device", ONE_DEVICE)):
                try:
                    problem = query(base, substitute(expr, variables), at)
                except KeyError as e:
                    problem = str(e)
                count += 1
                if problem:
                    errors.append(f"{name} / {where} ({label}): {problem}\n    query: {expr}")
                    break
    return errors, count


def self_test():
    """Runs this script on copies of the dashboards broken on purpose; each must be reported."""
    for tool in ("prometheus", "promtool"):
        if not shutil.which(tool):
            print(f"SKIP: {tool} not installed (Debian packages: prometheus)")
            return 77
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.join(here, "..", "..")
    breakages = {
        "a misspelt metric": (lambda d: d["panels"][0]["targets"][0].update(
            expr=d["panels"][0]["targets"][0]["expr"].replace("edgefleet_", "edgefleet_x_", 1)), "empty result"),
        "a parse error": (lambda d: d["panels"][1]["targets"][0].update(expr="sum(rate(x[$__rate_interval])"), "parse error"),
        "an unknown variable": (lambda d: d["panels"][2]["targets"][0].update(expr='up{job="$job"}'), "unknown template variable $job"),
        "a bucket that does not exist": (lambda d: d["panels"][3]["targets"][0].update(
            expr='histogram_quantile(0.5, sum by (le) (rate(edgefleet_runtime_inference_duration_seconds_bucket{le=~"0.3|0.7"}[$__rate_interval])))'), "empty result"),
        "a label filter nothing matches": (lambda d: d["templating"]["list"][1]["query"].update(
            query='label_values(edgefleet_runtime_model_info{site="nowhere"}, site)'), "variable $site (all selected): empty result"),
    }
    structure = {
        "a fixed window": (lambda d: d["panels"][0]["targets"][0].update(expr="sum(rate(up[5m]))"), "fixed range [5m]"),
        "no unit": (lambda d: d["panels"][0]["fieldConfig"]["defaults"].pop("unit"), "no unit"),
        "an old schema": (lambda d: d.update(schemaVersion=30), "schemaVersion 30 < 37"),
        "no device variable": (lambda d: d["templating"].update(list=[v for v in d["templating"]["list"] if v["name"] != "device"]),
                               "variable device missing"),
    }
    failures = 0
    for group in (breakages, structure):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "deploy", "grafana", "dashboards")
            os.makedirs(out)
            src = sorted(glob.glob(os.path.join(repo, "deploy", "grafana", "dashboards", "*.json")))
            for i, path in enumerate(src):
                d = json.load(open(path))
                for j, (what, (mutate, _)) in enumerate(group.items()):
                    if j % len(src) == i:
                        mutate(d)
                json.dump(d, open(os.path.join(out, os.path.basename(path)), "w"))
            r = subprocess.run([sys.executable, os.path.abspath(__file__), tmp], capture_output=True, text=True)
            for what, (_, message) in group.items():
                if r.returncode != 1 or message not in r.stdout:
                    print(f"FAIL: {what} not reported (expected {message!r}); output:\n{r.stdout}{r.stderr}")
                    failures += 1
    if not failures:
        print(f"OK: self-test, {len(breakages) + len(structure)} broken dashboards reported")
    return 1 if failures else 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    repo = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    for tool in ("prometheus", "promtool"):
        if not shutil.which(tool):
            print(f"SKIP: {tool} not installed (Debian packages: prometheus)")
            return 77
    paths = sorted(glob.glob(os.path.join(repo, "deploy", "grafana", "dashboards", "*.json")))
    dashboards = [(os.path.basename(p), json.load(open(p))) for p in paths]
    errors = [] if len(dashboards) >= 4 else [f"expected 4 dashboards, found {len(dashboards)}"]
    for name, d in dashboards:
        errors += check_structure(name, d)
    uids = [d.get("uid") for _, d in dashboards]
    if len(uids) != len(set(uids)):
        errors.append("dashboard uids are not unique")
    if errors:
        print("\n".join("FAIL: " + e for e in errors))
        return 1
    workdir = tempfile.mkdtemp(prefix="edgefleet-dashboards-")
    proc = None
    try:
        t_end = int(time.time()) // STEP * STEP - 120
        data = os.path.join(workdir, "fleet.om")
        samples = synthesize(data, t_end)
        tsdb = os.path.join(workdir, "tsdb")
        subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", data, tsdb],
                       check=True, stdout=subprocess.DEVNULL)
        proc, base = start_prometheus(workdir, tsdb)
        # The synthetic data must be there at all (a broken backfill would fail every panel alike).
        if query(base, "count(edgefleet_runtime_model_info)", t_end):
            raise SystemExit("FAIL: backfilled data not visible in Prometheus")
        errors, count = run_queries(dashboards, base, t_end)
        rule_errors, rules = (check_rules(repo, base, t_end) if os.path.isdir(os.path.join(repo, "deploy", "prometheus"))
                              else ([], 0))
        errors += rule_errors
        for e in errors:
            print("FAIL:", e)
        if not errors:
            print(f"OK: {len(dashboards)} dashboards, {count} queries and {rules} rules on {samples} backfilled samples")
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
