#!/usr/bin/env python3
"""Writes the edgefleet Grafana dashboards (dashboards/*.json) from the panel lists below.

Run it after changing a panel and commit both. Every query is raw PromQL over the series of
docs/telemetry.md (no recording rules), rates use $__rate_interval, quantiles above the device
come from summed classic buckets. tests/deploy/dashboard_queries.py runs every query against a
Prometheus holding synthetic fleet data.
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
DS = {"type": "prometheus", "uid": "${datasource}"}
# Identity selectors: every device series carries site, cell, device; the per-model runtime series
# (frames processed, latency, scores, decisions, overrides, model_info) also model_version.
DEV = 'site=~"$site", cell=~"$cell", device=~"$device"'
RT = DEV + ', model_version=~"$model_version"'
SRV = 'site=~"$site", cell=~"$cell", device=~"$device"'


def variables(device_multi=True):
    def query_var(name, label, selector, multi=True):
        q = f"label_values(edgefleet_runtime_model_info{selector}, {label})"
        v = {"name": name, "label": label, "type": "query", "datasource": DS, "definition": q,
             "query": {"query": q, "refId": f"edgefleet-{name}"}, "refresh": 2, "sort": 1,
             "hide": 0, "regex": "", "skipUrlSync": False, "multi": multi, "includeAll": multi,
             "current": {}, "options": []}
        if multi:
            v["allValue"] = ".*"
        return v
    return {"list": [
        {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
         "current": {"text": "Prometheus", "value": "prometheus"}, "hide": 0, "refresh": 1,
         "regex": "", "skipUrlSync": False, "options": [], "includeAll": False, "multi": False},
        query_var("site", "site", ""),
        query_var("cell", "cell", '{site=~"$site"}'),
        query_var("device", "device", '{site=~"$site", cell=~"$cell"}', multi=device_multi),
        query_var("model_version", "model_version", '{site=~"$site", cell=~"$cell", device=~"$device"}'),
    ]}


def panel(kind, title, unit, targets, description, w=12, h=8, **extra):
    p = {"type": kind, "title": title, "description": description, "datasource": DS,
         "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
         "targets": [{"datasource": DS, "expr": e, "legendFormat": l, "refId": chr(ord("A") + i),
                      **({"instant": True, "format": "table"} if kind == "table" else {})}
                     for i, (e, l) in enumerate(targets)],
         "gridPos": {"w": w, "h": h}}
    if kind == "timeseries":
        p["options"] = {"legend": {"displayMode": "table", "placement": "right", "calcs": ["lastNotNull"]},
                        "tooltip": {"mode": "multi", "sort": "desc"}}
    p.update(extra)
    return p


def ts(title, unit, targets, description, **kw):
    return panel("timeseries", title, unit, targets, description, **kw)


def stat(title, unit, expr, description):
    return panel("stat", title, unit, [(expr, "")], description, w=6, h=4,
                 options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                          "colorMode": "value", "graphMode": "area"})


def rate(metric, sel, by):
    return f"sum by ({by}) (rate({metric}{{{sel}}}[$__rate_interval]))"


def bucket_quantile(q, metric, sel, by):
    return f"histogram_quantile({q}, sum by (le, {by}) (rate({metric}_bucket{{{sel}}}[$__rate_interval])))"


def ratio(num_sel, den_sel, by, metric="edgefleet_runtime_decisions_total"):
    return f"{rate(metric, num_sel, by)}\n  /\n{rate(metric, den_sel, by)}"


def override_ratio(by):
    return (f"(\n  {rate('edgefleet_runtime_overrides_total', RT, by)}\n  or\n  0 * {rate('edgefleet_runtime_decisions_total', RT, by)}\n)\n  /\n"
            f"{rate('edgefleet_runtime_decisions_total', RT, by)}")


LAT = "edgefleet_runtime_inference_duration_seconds"
SCORE = "edgefleet_runtime_anomaly_score_ratio"
# Buckets around the reject line (le may be written "1" or "1.0").
NEAR_LINE = RT + ', le=~"0.9|1|1.0|1.25"'


def fleet_overview():
    return [
        stat("Devices online", "none", f"sum(edgefleet_server_device_online{{{SRV}}})",
             "Devices the server sees now (check-in or long-poll within their interval)."),
        stat("Devices offline", "none", f"count(edgefleet_server_device_online{{{SRV}}} == 0) or vector(0)",
             "Devices registered with the server that have not checked in within their interval."),
        stat("Cameras disconnected", "none", f"count(edgefleet_runtime_camera_connected{{{DEV}}} == 0) or vector(0)",
             "Runtimes whose camera is disconnected now."),
        stat("Frames inspected", "suffix: frames/s", f"sum(rate(edgefleet_runtime_frames_processed_total{{{RT}}}[$__rate_interval]))",
             "Frames scored per second across the selected devices."),
        ts("Throughput by site and model", "suffix: frames/s",
           [(rate("edgefleet_runtime_frames_processed_total", RT, "site, model_version"), "{{site}} {{model_version}}")],
           "Frames scored per second."),
        ts("Reject ratio by site and model", "percentunit",
           [(ratio(RT + ', decision="reject"', RT, "site, model_version"), "{{site}} {{model_version}}")],
           "Rejects over all decisions of the model (before operator overrides)."),
        ts("Inference latency p95 by cell (buckets)", "s",
           [(bucket_quantile(0.95, LAT, RT, "site, cell, model_version"), "{{site}}/{{cell}} {{model_version}}")],
           "p95 of per-frame inference time, from the cell's summed histogram buckets."),
        ts("Fleet inference latency", "s",
           [(bucket_quantile(q, LAT, RT, "model_version"), f"p{int(q * 100)} {{{{model_version}}}}") for q in (0.5, 0.95, 0.99)],
           "p50/p95/p99 of per-frame inference time over all selected devices, per model version."),
        ts("Lowest free disk (data partition)", "percentunit",
           [(f'bottomk(10, edgefleet_device_disk_free_bytes{{{DEV}, mount="data"}} / edgefleet_device_disk_total_bytes{{{DEV}, mount="data"}})', "{{device}}")],
           "Share of the data partition still free, the 10 fullest devices."),
        ts("Update outcomes", "short",
           [(f"sum by (result) (increase(edgefleet_agent_updates_total{{{DEV}}}[$__rate_interval]))", "{{result}}")],
           "Release updates finished, by outcome (committed, failed, rolled_back)."),
        ts("Telemetry relay (server)", "short",
           [("sum by (outcome) (rate(edgefleet_server_telemetry_samples_total[$__rate_interval]))", "{{outcome}}")],
           "Device samples the server received, relayed to Prometheus, parked, dropped or refused, per second."),
        ts("Devices online by site", "none",
           [(f"sum by (site) (edgefleet_server_device_online{{{SRV}}})", "{{site}}")],
           "Devices the server sees, per site."),
    ]


def device_detail():
    return [
        stat("Frames per second", "suffix: frames/s", f"sum(edgefleet_runtime_frames_per_second{{{DEV}}})",
             "The runtime's own frame rate gauge."),
        stat("Camera connected", "bool_yes_no", f"min(edgefleet_runtime_camera_connected{{{DEV}}})", "1 while the camera delivers frames."),
        stat("Runtime healthy", "bool_yes_no", f"min(edgefleet_runtime_healthy{{{DEV}}})", "The runtime's health verdict."),
        stat("Since last inference", "s", f"time() - max(edgefleet_runtime_last_inference_timestamp_seconds{{{DEV}}})",
             "Seconds since the last successful inference."),
        ts("Inference latency (exact, rolling 5 min)", "s",
           [(f"edgefleet_runtime_inference_duration_recent_seconds{{{RT}}}", "{{device}} q{{quantile}} {{model_version}}")],
           "The runtime's exact quantiles over its last 5 minutes."),
        ts("Inference latency (buckets)", "s",
           [(bucket_quantile(q, LAT, RT, "device, model_version"), f"{{{{device}}}} p{int(q * 100)} {{{{model_version}}}}") for q in (0.5, 0.99)],
           "p50/p99 from the histogram buckets (what the cell and fleet views aggregate)."),
        ts("Frames processed and dropped", "suffix: frames/s",
           [(rate("edgefleet_runtime_frames_processed_total", RT, "device, model_version"), "{{device}} processed {{model_version}}"),
            (rate("edgefleet_runtime_frames_dropped_total", DEV, "device, reason"), "{{device}} dropped {{reason}}")],
           "Scored frames and frames lost (queue full, camera overrun)."),
        ts("Decisions", "suffix: frames/s",
           [(rate("edgefleet_runtime_decisions_total", RT, "device, decision"), "{{device}} {{decision}}")],
           "Pass and reject decisions of the model per second."),
        ts("Anomaly score / threshold", "none",
           [(f"edgefleet_runtime_anomaly_score_ratio_recent{{{RT}}}", "{{device}} q{{quantile}}"),
            (f"edgefleet_runtime_anomaly_score_ratio_recent_mean{{{RT}}}", "{{device}} mean")],
           "Rolling 5 min quantiles and mean of score/threshold (1 = the reject line)."),
        ts("CPU and memory", "percentunit",
           [(f"edgefleet_device_cpu_usage_ratio{{{DEV}}}", "{{device}} CPU busy"),
            (f"1 - edgefleet_device_memory_available_bytes{{{DEV}}} / edgefleet_device_memory_total_bytes{{{DEV}}}", "{{device}} memory used")],
           "Whole-machine CPU busy share and memory in use."),
        ts("Temperatures", "celsius",
           [(f"edgefleet_device_temperature_celsius{{{DEV}}}", "{{device}} {{sensor}}")],
           "Thermal zones and hwmon sensors."),
        ts("CPU throttle events", "short",
           [(f"sum by (device, scope) (increase(edgefleet_device_cpu_throttle_events_total{{{DEV}}}[$__rate_interval]))", "{{device}} {{scope}}")],
           "Thermal throttle events summed over CPUs."),
        ts("Data partition free", "percentunit",
           [(f'edgefleet_device_disk_free_bytes{{{DEV}, mount="data"}} / edgefleet_device_disk_total_bytes{{{DEV}, mount="data"}}', "{{device}}")],
           "Share of the data partition available."),
        ts("Telemetry spool", "short",
           [(f"edgefleet_agent_spool_pending_scrapes{{{DEV}}}", "{{device}} rounds pending")],
           "Collection rounds waiting on the device for delivery."),
        panel("table", "Models", "none",
              [(f"edgefleet_runtime_model_info{{{DEV}}}", "")],
              "Model versions the runtime ran (1 = scoring now).", w=24, h=6),
    ]


def shift_join(expr):
    """expr (by site and more) labelled with each site's running shift, as the cell_shift:* rules do."""
    return (f"sum by (site, cell, shift) (\n  {expr}\n  * on (site) group_left (shift)\n"
            f"  max by (site, shift) (edgefleet_server_site_shift == 1)\n)")


def cell_view():
    return [
        ts("Throughput per device", "suffix: frames/s",
           [(rate("edgefleet_runtime_frames_processed_total", RT, "cell, device, model_version"), "{{cell}} {{device}} {{model_version}}")],
           "Frames scored per second by each device of the cell."),
        ts("Reject ratio per device", "percentunit",
           [(ratio(RT + ', decision="reject"', RT, "cell, device, model_version"), "{{device}} {{model_version}}")],
           "Rejects over decisions per device."),
        ts("Override ratio per device", "percentunit",
           [(override_ratio("cell, device, model_version"), "{{device}} {{model_version}}")],
           "Operator overrides over decisions: how often operators disagree with the model."),
        ts("Operator interactions", "suffix: /s",
           [(rate("edgefleet_runtime_operator_interactions_total", DEV, "cell, kind"), "{{cell}} {{kind}}")],
           "Interactions reported by the line's HMI, by kind."),
        ts("Inference p95 per device (exact)", "s",
           [(f'edgefleet_runtime_inference_duration_recent_seconds{{{RT}, quantile="0.95"}}', "{{device}} {{model_version}}")],
           "Each device's exact rolling p95."),
        ts("Cell inference latency (buckets)", "s",
           [(bucket_quantile(q, LAT, RT, "site, cell, model_version"), f"{{{{site}}}}/{{{{cell}}}} p{int(q * 100)} {{{{model_version}}}}") for q in (0.5, 0.95, 0.99)],
           "The cell's latency quantiles from summed buckets."),
        ts("Cell anomaly score p50/p95 (buckets)", "none",
           [(bucket_quantile(q, SCORE, RT, "site, cell, model_version"), f"{{{{site}}}}/{{{{cell}}}} p{int(q * 100)} {{{{model_version}}}}") for q in (0.5, 0.95)],
           "Score/threshold quantiles of the cell (1 = reject line)."),
        ts("Decisions per minute by shift", "suffix: /min",
           [(f"{shift_join(rate('edgefleet_runtime_decisions_total', RT, 'site, cell'))} * 60",
             "{{site}}/{{cell}} {{shift}}")],
           "Each cell's decisions per minute, labelled with the shift running at its site (the "
           "server's edgefleet_server_site_shift, edgefleet-server --shifts): a shift change shows "
           "as one series ending and the next starting. Empty without --shifts. Totals per shift: "
           "edgefleet report cells --shift."),
        panel("table", "Shift totals (dashboard time range)", "short",
              [(f"sum by (cell, device, decision) (increase(edgefleet_runtime_decisions_total{{{RT}}}[$__range]))", "")],
              "Pass and reject decisions per device over the selected time range (set it to the shift).", w=24),
        ts("Dropped frames per device", "suffix: frames/s",
           [(rate("edgefleet_runtime_frames_dropped_total", DEV, "cell, device"), "{{cell}} {{device}}")],
           "Frames lost per second."),
        ts("Cameras connected", "none",
           [(f"sum by (cell) (edgefleet_runtime_camera_connected{{{DEV}}})", "{{cell}}")],
           "Connected cameras per cell."),
    ]


def model_ab():
    by = "model_version"
    return [
        ts("Devices per model version", "none",
           [(f"count by (model_version) (edgefleet_runtime_model_info{{{RT}}} == 1)", "{{model_version}}")],
           "Devices scoring with each model version now."),
        ts("Throughput per device by model version", "suffix: frames/s",
           [(f"{rate('edgefleet_runtime_frames_processed_total', RT, by)}\n  /\ncount by (model_version) (edgefleet_runtime_model_info{{{RT}}} == 1)", "{{model_version}}")],
           "Frames scored per second per device running the version."),
        ts("Reject ratio by model version", "percentunit",
           [(ratio(RT + ', decision="reject"', RT, by), "{{model_version}}")], "Rejects over decisions."),
        ts("Override ratio by model version", "percentunit",
           [(override_ratio(by), "{{model_version}}")], "Operator overrides over decisions."),
        ts("Inference latency by model version", "s",
           [(bucket_quantile(q, LAT, RT, by), f"p{int(q * 100)} {{{{model_version}}}}") for q in (0.5, 0.95, 0.99)],
           "p50/p95/p99 from the summed buckets of all devices running the version."),
        ts("Anomaly score by model version", "none",
           [(bucket_quantile(q, SCORE, RT, by), f"p{int(q * 100)} {{{{model_version}}}}") for q in (0.5, 0.95)]
           + [(f"{rate(SCORE + '_sum', RT, by)}\n  /\n{rate(SCORE + '_count', RT, by)}", "mean {{model_version}}")],
           "Score/threshold quantiles and mean (1 = the reject line)."),
        ts("Score distribution near the reject line", "percentunit",
           [(f'{rate(SCORE + "_bucket", NEAR_LINE, "le, model_version")}\n  / ignoring (le) group_left\n{rate(SCORE + "_count", RT, by)}', "le {{le}} {{model_version}}")],
           "Share of frames scoring at most 0.9, 1.0, 1.25 of the threshold, per version."),
        ts("Dropped frame ratio by model version", "percentunit",
           [(f"sum by (model_version) (\n  {rate('edgefleet_runtime_frames_dropped_total', DEV, 'site, cell, device')}\n  * on (site, cell, device) group_left (model_version)\n  (1 + 0 * topk by (site, cell, device) (1, timestamp(edgefleet_runtime_model_info{{{RT}}} == 1)))\n)\n  /\n{rate('edgefleet_runtime_frames_processed_total', RT, by)}", "{{model_version}}")],
           "Frames lost over frames scored, per version (a slower model drops more); drops carry no model_version, so each device's drops count for the model it runs now."),
    # After a runtime restart the old model's info series still reads 1 until it goes stale
    # (remote-written series get no staleness marker): the newest sample decides the model.
    ]


def layout(panels):
    x = y = row_h = 0
    for i, p in enumerate(panels, 1):
        g = p["gridPos"]
        if x + g["w"] > 24:
            x, y, row_h = 0, y + row_h, 0
        g["x"], g["y"] = x, y
        x += g["w"]
        row_h = max(row_h, g["h"])
        p["id"] = i
    return panels


def dashboard(uid, title, description, panels, device_multi=True):
    return {"uid": uid, "title": title, "description": description, "tags": ["edgefleet"],
            "timezone": "", "editable": True, "graphTooltip": 1, "schemaVersion": 37, "version": 1,
            "time": {"from": "now-6h", "to": "now"}, "refresh": "1m",
            "annotations": {"list": [{"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                                      "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
                                      "name": "Annotations & Alerts", "type": "dashboard"}]},
            "links": [{"title": "edgefleet dashboards", "type": "dashboards", "tags": ["edgefleet"], "asDropdown": True}],
            "templating": variables(device_multi), "panels": layout(panels)}


DASHBOARDS = {
    "edgefleet-fleet-overview.json": dashboard("edgefleet-fleet", "edgefleet / Fleet overview",
        "The whole fleet at a glance: devices online, throughput, rejects, latency, disks, updates, telemetry relay.", fleet_overview()),
    "edgefleet-device-detail.json": dashboard("edgefleet-device", "edgefleet / Device detail",
        "One device: runtime, camera, latency, scores, machine health, telemetry spool.", device_detail(), device_multi=False),
    "edgefleet-cell-shift.json": dashboard("edgefleet-cell", "edgefleet / Cell and shift",
        "The devices of a cell side by side, and decision totals over a shift (the time range).", cell_view()),
    "edgefleet-model-ab.json": dashboard("edgefleet-models", "edgefleet / Model A/B comparison",
        "Model versions compared: every panel is split by model_version.", model_ab()),
}

if __name__ == "__main__":
    out = os.path.join(HERE, "dashboards")
    os.makedirs(out, exist_ok=True)
    for name, d in DASHBOARDS.items():
        with open(os.path.join(out, name), "w") as f:
            json.dump(d, f, indent=2)
            f.write("\n")
        print(name, len(d["panels"]), "panels")
