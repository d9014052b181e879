#!/usr/bin/env bash
# Issue 8's end-to-end benchmark suite, one command: builds the CLI and bench jars, installs the
# peers (OpenSSH, nginx, wrk) and the TCP_NODELAY shim, then runs every workload through
# Relaymesh (control plane, relay, agent, port-forward: separate processes), OpenSSH -R/-L,
# OpenSSH with TCP_NODELAY, nginx and direct TCP, and prints one table with same-run ratios.
#
#   bench/run-suite.sh [--quick] [--out FILE] [--skip-idle] [--runs N] ... (--help for all)
#
# Default sizes finish in under 10 minutes on a 2-core machine; --quick is a ~2-minute smoke.
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
cd "$root"
if [ "${SUITE_SKIP_BUILD:-}" != 1 ]; then
  echo "run-suite: building (mvn -B -q -DskipTests -pl cli,bench -am package)" >&2
  mvn -B -q -DskipTests -pl cli,bench -am package ${MVN_ARGS:-} >&2
fi
bench/scripts/install-peers.sh bench/target/nodelay.so
exec java ${SUITE_JAVA_OPTS:-} -cp bench/target/relaymesh-benchmarks.jar io.relaymesh.bench.e2e.SuiteMain \
  --jar cli/target/relaymesh.jar --launcher "$root/relaymesh" --nodelay-so bench/target/nodelay.so "$@"
