#!/bin/sh
# Checks deploy/prometheus and deploy/alertmanager with the tools Debian ships: the Prometheus
# config and rule files parse, every promtool unit test passes, the Alertmanager config parses and
# routes each severity to its receiver. Exits 77 (skipped) only when promtool is not installed.
set -eu
repo=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
prom=$repo/deploy/prometheus
if ! command -v promtool >/dev/null 2>&1; then
  echo "SKIP: promtool not installed (Debian package: prometheus)"
  exit 77
fi
promtool check config "$prom/prometheus.yml"
promtool check rules "$prom"/rules/*.yml
# promtool resolves rule_files relative to the test file.
promtool test rules "$prom"/tests/*.yml

# Every rules file is covered by some test file.
for rules in "$prom"/rules/*.yml; do
  name=$(basename "$rules")
  grep -l -- "- ../rules/$name" "$prom"/tests/*.yml >/dev/null || { echo "FAIL: no promtool test loads rules/$name"; exit 1; }
done

am=$repo/deploy/alertmanager/alertmanager.yml
if command -v amtool >/dev/null 2>&1; then
  amtool check-config "$am"
  route() {  # labels... expected-receiver
    expected=$1; shift
    got=$(amtool config routes test --config.file="$am" "$@" 2>/dev/null)
    [ "$got" = "$expected" ] || { echo "FAIL: $* routed to '$got', expected '$expected'"; exit 1; }
  }
  route edgefleet-pager alertname=EdgefleetCameraDown severity=critical site=plant-a cell=line-1
  route edgefleet-tickets alertname=EdgefleetDiskNearlyFull severity=warning site=plant-a cell=line-1
  route edgefleet-null alertname=EdgefleetX severity=info
  route edgefleet-tickets alertname=EdgefleetX
else
  echo "NOTE: amtool not installed (Debian package: prometheus-alertmanager); alertmanager.yml not checked"
fi
echo "OK: prometheus config, rules, unit tests and alertmanager config"
