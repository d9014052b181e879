#!/usr/bin/env bash
# Issue 9's soak profile, one command: builds the CLI and bench jars, makes sure the OpenSSH
# client is there (bench/scripts/install-peers.sh), then runs SoakMain: control plane, relay,
# agent and port-forward as separate processes under mixed SSH, port-forward and HTTP traffic for
# a bounded time, with the relay restarted periodically (alternately SIGTERM and SIGKILL); prints
# the resource trends of every long-lived process, the echo latency per minute, each restart's
# recovery and every failed operation, and exits 0 only on PASS (docs/soak.md).
#
#   bench/run-soak.sh [--minutes 10] [--restart-every 120] [--out FILE] ... (--help for all)
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
cd "$root"
if [ "${SOAK_SKIP_BUILD:-}" != 1 ]; then
  echo "run-soak: building (mvn -B -q -DskipTests -pl cli,bench -am package)" >&2
  mvn -B -q -DskipTests -pl cli,bench -am package ${MVN_ARGS:-} >&2
fi
bench/scripts/install-peers.sh bench/target/nodelay.so
exec java ${SOAK_JAVA_OPTS:-} -cp bench/target/relaymesh-benchmarks.jar io.relaymesh.bench.soak.SoakMain \
  --jar cli/target/relaymesh.jar --launcher "$root/relaymesh" "$@"
