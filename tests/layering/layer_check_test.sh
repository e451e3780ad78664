#!/usr/bin/env bash
# The layer rule (cmake/EdgefleetLayers.cmake) must stop the configure step on every kind of
# crossing and let a clean project through: each case configures tests/layering/fixture.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failures=0

expect() {  # case expected(pass|fail) words-the-error-must-contain
  local name=$1 want=$2 words=${3:-}
  local out status
  out=$(cmake -S "$here/fixture" -B "$scratch/$name" -G Ninja -DCASE="$name" 2>&1)
  status=$?
  if [ "$want" = pass ] && [ $status -ne 0 ]; then
    echo "FAIL $name: configure failed:"; echo "$out" | tail -5; failures=$((failures + 1))
  elif [ "$want" = fail ] && [ $status -eq 0 ]; then
    echo "FAIL $name: configure passed; the crossing was not caught"; failures=$((failures + 1))
  elif [ "$want" = fail ] && ! grep -q -- "$words" <<<"$out"; then
    echo "FAIL $name: refused, but without '$words':"; echo "$out" | tail -5
    failures=$((failures + 1))
  else
    echo "ok   $name"
  fi
}

expect clean pass
expect device_links_server fail "dev (device) links srv (server)"
expect device_includes_server fail 'includes #include "server/srv/srv.hpp"'
expect core_links_device fail "base (core) links dev (device)"
expect links_unknown_name fail "opencv_not_found_here"
expect program_without_layer fail "ef_program needs LAYER"
[ $failures -eq 0 ] && echo "all layer cases behaved" || exit 1
