#!/usr/bin/env python3
"""Alert and rule hygiene for deploy/prometheus (the conventions of docs/telemetry.md).

Every alert: severity in {critical, warning, info}; a static summary ending with '.'; a templated
description; a runbook_url into docs/runbooks.md whose anchor exists; `for:` of at least 30 s (two
of the agent's 15 s collection rounds). Every runbook section belongs to an alert, and every
`edgefleet ...` command a runbook quotes is a subcommand the CLI has (apps/edgefleet). Every alert
(and each of its severities) is shown firing by a promtool test and shown silent by another
check; every recording rule is checked with exact samples by a promql_expr_test.

Usage: alert_hygiene.py [REPO]      check the repository (exit 1 listing every problem)
       alert_hygiene.py --self-test check that broken rules and tests are caught
"""
import glob
import os
import re
import sys

try:
    import yaml
except ImportError:
    print("FAIL: python3 yaml module missing (Debian package: python3-yaml)")
    sys.exit(1)

SEVERITIES = {"critical", "warning", "info"}
RUNBOOK_PREFIX = "https://github.com/edgefleet/edgefleet/blob/main/docs/runbooks.md#"
MIN_FOR_SECONDS = 30


def duration_seconds(text):
    """Prometheus duration ('1h30m', '45s') in seconds; None if malformed."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    parts = re.findall(r"(\d+)(ms|s|m|h|d|w|y)", text or "")
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(int(n) * units[u] for n, u in parts)


def github_anchors(markdown):
    """Anchors GitHub makes from headings: lower case, punctuation dropped, spaces to dashes."""
    anchors = set()
    in_code = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        m = None if in_code else re.match(r"#{1,6}\s+(.*)", line)
        if m:
            slug = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
            anchors.add(slug)
    return anchors


def rules_of(rule_docs):
    alerts, records = [], []
    for path, doc in rule_docs:
        for group in (doc or {}).get("groups", []):
            for rule in group.get("rules", []):
                (alerts if "alert" in rule else records).append((path, rule))
    return alerts, records


def check_alert(path, rule, anchors):
    name = rule.get("alert", "?")
    where = f"{os.path.basename(path)}: {name}"
    labels, ann = rule.get("labels") or {}, rule.get("annotations") or {}
    errors = []
    if labels.get("severity") not in SEVERITIES:
        errors.append(f"{where}: severity {labels.get('severity')!r} not in {sorted(SEVERITIES)}")
    summary = ann.get("summary", "")
    if not summary.endswith(".") or "{{" in summary:
        errors.append(f"{where}: summary must be a static sentence ending with '.': {summary!r}")
    if "{{" not in ann.get("description", ""):
        errors.append(f"{where}: description missing or not templated")
    url = ann.get("runbook_url", "")
    if not url.startswith(RUNBOOK_PREFIX):
        errors.append(f"{where}: runbook_url must start with {RUNBOOK_PREFIX}: {url!r}")
    elif url[len(RUNBOOK_PREFIX):] not in anchors:
        errors.append(f"{where}: runbook anchor #{url[len(RUNBOOK_PREFIX):]} not in docs/runbooks.md")
    seconds = duration_seconds(rule.get("for"))
    if seconds is None or seconds < MIN_FOR_SECONDS:
        errors.append(f"{where}: for: {rule.get('for')!r} must be at least {MIN_FOR_SECONDS}s")
    return errors


def test_coverage(test_docs):
    """(alertname, severity) pairs shown firing, alertnames shown silent, recording exprs checked."""
    firing, silent, exprs = set(), set(), set()
    for _, doc in test_docs:
        for test in (doc or {}).get("tests", []):
            for case in test.get("alert_rule_test") or []:
                expected = case.get("exp_alerts") or []
                if not expected:
                    silent.add(case.get("alertname"))
                for alert in expected:
                    firing.add((case.get("alertname"), (alert.get("exp_labels") or {}).get("severity")))
            for case in test.get("promql_expr_test") or []:
                if case.get("exp_samples"):
                    exprs.add(str(case.get("expr", "")).strip())
    return firing, silent, exprs


def check(rule_docs, test_docs, runbooks_md):
    anchors = github_anchors(runbooks_md)
    alerts, records = rules_of(rule_docs)
    errors = []
    for path, rule in alerts:
        errors += check_alert(path, rule, anchors)
    firing, silent, exprs = test_coverage(test_docs)
    names = {rule["alert"] for _, rule in alerts}
    for _, rule in alerts:
        pair = (rule["alert"], (rule.get("labels") or {}).get("severity"))
        if pair not in firing:
            errors.append(f"{pair[0]} (severity {pair[1]}): no promtool test shows it firing")
    for name in sorted(names - silent):
        errors.append(f"{name}: no promtool test shows it silent (exp_alerts: [])")
    for _, rule in records:
        if rule["record"] not in exprs:
            errors.append(f"{rule['record']}: no promql_expr_test with exp_samples checks it")
    for anchor in sorted(anchors):
        if anchor.startswith("edgefleet") and anchor not in {n.lower() for n in names}:
            errors.append(f"docs/runbooks.md: section #{anchor} has no alert")
    for link in re.findall(r"\]\(#([^)]+)\)", runbooks_md):
        if link not in anchors:
            errors.append(f"docs/runbooks.md: link to #{link} has no section")
    if not alerts or not records:
        errors.append("no alerts or no recording rules found")
    return errors


def cli_subcommands(repo):
    """Subcommand and group names the edgefleet CLI registers (apps/edgefleet/*.cpp)."""
    names = set()
    for path in glob.glob(os.path.join(repo, "apps", "edgefleet", "*.cpp")):
        text = open(path).read()
        names |= set(re.findall(r'add_subcommand\(\s*"([a-z][a-z-]*)"', text))
        names |= set(re.findall(r'subcommand\(\w+, "([a-z][a-z-]*)"', text))
    return names


def check_cli_commands(runbooks_md, names):
    """Each quoted `edgefleet w1 w2 ...`: the leading lower-case words must be subcommands."""
    errors = []
    for command in re.findall(r"`edgefleet ([^`]*)`", runbooks_md):
        for word in command.split():
            if not re.fullmatch(r"[a-z]+", word):
                break  # an option, a placeholder (RELEASE) or an argument (cam-01) ends the path
            if word not in names:
                errors.append(f"docs/runbooks.md: `edgefleet {command}`: no subcommand {word!r}")
                break
    return errors


def load(pattern):
    return [(p, yaml.safe_load(open(p))) for p in sorted(glob.glob(pattern))]


def self_test():
    """The checker must catch each kind of mistake (a checker that passes everything is no test)."""
    good_alert = {"alert": "EdgefleetX", "expr": "up == 0", "for": "5m", "labels": {"severity": "warning"},
                  "annotations": {"summary": "X is down.", "description": "{{ $labels.device }} is down.",
                                  "runbook_url": RUNBOOK_PREFIX + "edgefleetx"}}
    record = {"record": "device:x:rate5m", "expr": "rate(x[5m])"}
    md = "# Runbooks\n\n## EdgefleetX\n\ntext\n"
    tests = [("t.yml", {"tests": [{"alert_rule_test": [
        {"alertname": "EdgefleetX", "exp_alerts": [{"exp_labels": {"severity": "warning"}}]},
        {"alertname": "EdgefleetX", "exp_alerts": []}],
        "promql_expr_test": [{"expr": "device:x:rate5m", "exp_samples": [{"labels": "x", "value": 1}]}]}]})]

    def rules(alert):
        return [("r.yml", {"groups": [{"name": "g", "rules": [alert, record]}]})]

    assert check(rules(good_alert), tests, md) == [], check(rules(good_alert), tests, md)
    mutations = {
        "bad severity": lambda a: a["labels"].update(severity="page"),
        "summary without period": lambda a: a["annotations"].update(summary="X is down"),
        "templated summary": lambda a: a["annotations"].update(summary="{{ $labels.device }} is down."),
        "static description": lambda a: a["annotations"].update(description="Down."),
        "missing anchor": lambda a: a["annotations"].update(runbook_url=RUNBOOK_PREFIX + "edgefleety"),
        "foreign runbook": lambda a: a["annotations"].update(runbook_url="https://example.com/#edgefleetx"),
        "short for": lambda a: a.update({"for": "15s"}),
        "no for": lambda a: a.pop("for"),
        "malformed for": lambda a: a.update({"for": "5 minutes"}),
        "untested severity": lambda a: a["labels"].update(severity="critical"),
    }
    for what, mutate in mutations.items():
        alert = yaml.safe_load(yaml.safe_dump(good_alert))
        mutate(alert)
        assert check(rules(alert), tests, md), f"not caught: {what}"
    untested = [("t.yml", {"tests": [{"alert_rule_test": [
        {"alertname": "EdgefleetX", "exp_alerts": [{"exp_labels": {"severity": "warning"}}]}]}]})]
    assert any("silent" in e for e in check(rules(good_alert), untested, md)), "missing silent case not caught"
    assert any("device:x:rate5m" in e for e in check(rules(good_alert), untested, md)), "untested record not caught"
    assert any("has no alert" in e for e in check(rules(good_alert), tests, md + "## EdgefleetGone\n")), "stale section"
    assert any("no section" in e for e in check(rules(good_alert), tests, md + "[a](#nowhere)\n")), "dead link"
    cli = {"device", "show", "status", "audit"}
    assert check_cli_commands("`edgefleet device show cam-01` `edgefleet status --wide` `edgefleet audit`", cli) == []
    assert check_cli_commands("`edgefleet device inspect cam-01`", cli), "invented subcommand not caught"
    assert check_cli_commands("`edgefleet restart cam-01`", cli), "invented command not caught"
    assert github_anchors("## EdgefleetDiskNearlyFull\n## Alerts and dashboards\n") == {
        "edgefleetdisknearlyfull", "alerts-and-dashboards"}
    print(f"OK: self-test, {len(mutations) + 6} broken inputs caught")


def main():
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        return 0
    repo = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    prom = os.path.join(repo, "deploy", "prometheus")
    rule_docs = load(os.path.join(prom, "rules", "*.yml"))
    test_docs = load(os.path.join(prom, "tests", "*.yml"))
    runbooks = open(os.path.join(repo, "docs", "runbooks.md")).read()
    errors = check(rule_docs, test_docs, runbooks)
    names = cli_subcommands(repo)
    errors += check_cli_commands(runbooks, names) if names else ["no CLI subcommands found in apps/edgefleet"]
    for e in errors:
        print("FAIL:", e)
    alerts, records = rules_of(rule_docs)
    if not errors:
        print(f"OK: {len(alerts)} alert rules, {len(records)} recording rules, all covered; runbook CLI commands exist")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
