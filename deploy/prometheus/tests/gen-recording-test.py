#!/usr/bin/env python3
# Generator of edgefleet-recording-test.yml (run it after changing the recording rules): an independent model of
# rate() (linear counters: increase/300 s) and of histogram_quantile (Prometheus 2.42 bucketQuantile).
import os
HERE = os.path.dirname(os.path.abspath(__file__))
devices = {  # device: (site, cell, model_version)
    "cam-01": ("plant-a", "line-1", "v1"),
    "cam-02": ("plant-a", "line-1", "v1"),
    "cam-03": ("plant-a", "line-2", "v2"),
    "cam-04": ("plant-b", "line-1", "v1"),
}
release = {"v1": "2026.11.0", "v2": "2026.12.0"}
frames = {"cam-01": 60, "cam-02": 120, "cam-03": 180, "cam-04": 240}   # per minute
decisions = {"cam-01": (45, 15), "cam-02": (105, 15), "cam-03": (135, 45), "cam-04": (240, 0)}
overrides = {"cam-01": ("reject", "pass", 15), "cam-03": ("pass", "reject", 45)}
interactions = {("cam-01", "override"): 15, ("cam-03", "override"): 45, ("cam-02", "acknowledge"): 30}
lat_le = ["0.01", "0.02", "0.05", "+Inf"]
lat = {"cam-01": [30, 45, 60, 60], "cam-02": [60, 90, 105, 120], "cam-03": [0, 90, 165, 180], "cam-04": [120, 210, 240, 240]}
sc_le = ["0.5", "1", "2", "+Inf"]
sc = {"cam-01": [45, 45, 60, 60], "cam-02": [75, 90, 105, 120], "cam-03": [90, 135, 165, 180], "cam-04": [210, 240, 240, 240]}

def rate(per_min): return (5 * per_min) / 300.0  # eval at 10m, window 5m, samples at 5m..10m

def ident(d, mv=True):
    s, c, v = devices[d]
    l = f'device="{d}", site="{s}", cell="{c}", release="{release[v]}"'
    return l + (f', model_version="{v}"' if mv else "")

series = []
def add(name, labels, per_min):
    series.append((f"{name}{{{labels}}}", f"0+{per_min}x10"))
for d in devices:
    add("edgefleet_runtime_frames_processed_total", ident(d), frames[d])
    p, r = decisions[d]
    add("edgefleet_runtime_decisions_total", ident(d) + ', decision="pass"', p)
    add("edgefleet_runtime_decisions_total", ident(d) + ', decision="reject"', r)
    if d in overrides:
        f, t, n = overrides[d]
        add("edgefleet_runtime_overrides_total", ident(d) + f', from="{f}", to="{t}"', n)
    for i, le in enumerate(lat_le):
        add("edgefleet_runtime_inference_duration_seconds_bucket", ident(d) + f', le="{le}"', lat[d][i])
    for i, le in enumerate(sc_le):
        add("edgefleet_runtime_anomaly_score_ratio_bucket", ident(d) + f', le="{le}"', sc[d][i])
for (d, k), n in interactions.items():
    add("edgefleet_runtime_operator_interactions_total", ident(d, mv=False) + f', kind="{k}"', n)

LEVELS = {"device": ("site", "cell", "device", "model_version"), "cell": ("site", "cell", "model_version"),
          "site": ("site", "model_version"), "model": ("model_version",), "fleet": ()}
def key(d, by):
    s, c, v = devices[d]
    m = {"site": s, "cell": c, "device": d, "model_version": v}
    return tuple((l, m[l]) for l in by)

def group(by, f):
    out = {}
    for d in devices:
        k = key(d, by)
        out[k] = out.get(k, 0.0) + f(d)
    return out

def lbl(k): return "{" + ", ".join(f'{l}="{v}"' for l, v in sorted(k)) + "}"

def quantile(q, les, counts):
    b = sorted(zip([float(x) for x in les], counts))
    obs = b[-1][1]; rank = q * obs
    i = next(i for i in range(len(b) - 1 + 1) if i == len(b) - 1 or b[i][1] >= rank)
    if i == len(b) - 1: return b[-2][0]
    start, end, cnt = 0.0, b[i][0], b[i][1]
    if i > 0:
        start = b[i - 1][0]; cnt -= b[i - 1][1]; rank -= b[i - 1][1]
    return start + (end - start) * (rank / cnt)

tests = []  # (expr, [(labels, value)])
def exp(rule, samples): tests.append((rule, samples))
for lvl in ["device", "cell", "site", "model"]:
    by = LEVELS[lvl]
    g = group(by, lambda d: rate(frames[d]))
    exp(f"{lvl}:edgefleet_runtime_frames_processed:rate5m", [(k, v) for k, v in g.items()])
    rej = group(by, lambda d: rate(decisions[d][1])); tot = group(by, lambda d: rate(decisions[d][0]) + rate(decisions[d][1]))
    exp(f"{lvl}:edgefleet_runtime_decisions_reject:ratio_rate5m", [(k, rej[k] / tot[k]) for k in tot])
    ov = group(by, lambda d: rate(overrides[d][2]) if d in overrides else 0.0)
    exp(f"{lvl}:edgefleet_runtime_overrides:ratio_rate5m", [(k, ov[k] / tot[k]) for k in tot])
for lvl, by in [("device", ("site", "cell", "device")), ("cell", ("site", "cell")), ("site", ("site",))]:
    g = {}
    for (d, kd), n in interactions.items():
        k = key(d, by); g[k] = g.get(k, 0.0) + rate(n)
    exp(f"{lvl}:edgefleet_runtime_operator_interactions:rate5m", list(g.items()))
for metric, les, data in [("edgefleet_runtime_inference_duration_seconds", lat_le, lat),
                          ("edgefleet_runtime_anomaly_score_ratio", sc_le, sc)]:
    for lvl in ["cell", "model", "fleet"]:
        by = LEVELS[lvl]
        buckets = {}
        for d in devices:
            k = key(d, by)
            acc = buckets.setdefault(k, [0.0] * len(les))
            for i in range(len(les)): acc[i] += rate(data[d][i])
        for q, n in [(0.5, "p50"), (0.95, "p95"), (0.99, "p99")]:
            exp(f"{lvl}:{metric}:{n}_5m", [(k, quantile(q, les, c)) for k, c in buckets.items()])

out = ["# Unit tests of every recording rule in ../rules/edgefleet-recording.yml (promtool test rules).",
       "# Generated by gen-recording-test.py (edit that, not this file).",
       "# Four devices on two sites (cell line-1 exists on both), two model versions; counters grow",
       "# linearly from 0 every minute, so at 10m each rate over 5m is exactly (per-minute step)/60.",
       "# Every per-minute step is a multiple of 15, so every rate is a multiple of 0.25 and every sum is",
       "# exact whatever order Prometheus adds in (exact float comparison stays deterministic).",
       "# Expected values come from an independent model of rate() and histogram_quantile; a few by hand:",
       "#   cell plant-a/line-1/v1 reject ratio = (0.25+0.25)/(1+2) = 1/6 (ratio of sums; mean of ratios is 0.1875);",
       "#   cell plant-a/line-2/v2 latency buckets/s 0, 1.5, 2.75, 3 -> p50 rank 1.5 = end of (0.01, 0.02] -> 0.02,",
       "#   p95 rank 2.85 beyond 2.75 -> +Inf bucket -> 0.05 (upper bound of the last finite bucket);",
       "#   model v2 anomaly p50: buckets/s 1.5, 2.25, 2.75, 3 -> rank 1.5 = end of the first bucket -> 0.5.",
       "# Where Prometheus rounds the last bit differently from the model (within 1e-12), its float is used.",
       "rule_files:", "  - ../rules/edgefleet-recording.yml", "evaluation_interval: 1m", "tests:", "  - interval: 1m",
       "    input_series:"]
for s, v in series:
    out += [f"      - series: '{s}'", f"        values: '{v}'"]
out.append("    promql_expr_test:")
for rule, samples in tests:
    out += [f"      - expr: {rule}", "        eval_time: 10m", "        exp_samples:"]
    for k, v in sorted(samples):
        out += [f"          - labels: '{rule}{lbl(k) if k else ''}'", f"            value: {v!r}"]
open(os.path.join(HERE, "edgefleet-recording-test.yml"), "w").write("\n".join(out) + "\n")
print(len(tests), "rules")


# Second pass: a few quantiles differ from this model in the last bit (Go's evaluation order);
# take Prometheus's float only where it agrees with the model to 1e-12 (relative).
import re, subprocess
r = subprocess.run(["promtool", "test", "rules", "edgefleet-recording-test.yml"], cwd=HERE, capture_output=True, text=True)
txt = r.stdout + r.stderr
pat = re.compile(r'\{(__name__="[^"]+"[^}]*)\} ([-+0-9.E]+)')
gotmap = {}
for block in txt.split("expr: ")[1:]:
    e = dict(pat.findall(re.search(r"exp: (.*)", block).group(1)))
    g = dict(pat.findall(re.search(r"got: (.*)", block).group(1)))
    assert e.keys() == g.keys(), (e.keys(), g.keys())
    for k in e:
        ev, gv = float(e[k]), float(g[k])
        assert abs(ev - gv) <= 1e-12 * max(1, abs(ev)), (k, ev, gv)
        gotmap[k] = gv
print("taken from Prometheus:", {k: v for k, v in gotmap.items()})
p = os.path.join(HERE, "edgefleet-recording-test.yml")
lines = open(p).read().split("\n")
cur = None
for i, l in enumerate(lines):
    m = re.match(r"          - labels: '([^{']+)(\{.*\})?'", l)
    if m:
        name, rest = m.group(1), (m.group(2) or "{}")[1:-1]
        cur = f'__name__="{name}"' + (", " + rest if rest else "")
    elif l.startswith("            value: ") and cur in gotmap:
        lines[i] = f"            value: {gotmap[cur]!r}"
open(p, "w").write("\n".join(lines))
