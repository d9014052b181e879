#!/usr/bin/env bash
# Installs the peers the end-to-end suite compares Relaymesh with (Debian packages: OpenSSH
# server and client, nginx, wrk, curl) when they are missing, and builds the TCP_NODELAY
# LD_PRELOAD shim (bench/target/nodelay.so) the "openssh-nodelay" path runs sshd under.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "$0")")" && pwd)"
out="${1:-$here/../target/nodelay.so}"

need=()
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null || need+=(openssh-client)
[ -x /usr/sbin/nginx ] || need+=(nginx)
command -v wrk >/dev/null || need+=(wrk)
command -v curl >/dev/null || need+=(curl)
command -v gcc >/dev/null || need+=(gcc libc6-dev)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "install-peers: apt-get install ${need[*]}" >&2
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
mkdir -p "$(dirname "$out")"
if [ ! -f "$out" ] || [ "$here/nodelay.c" -nt "$out" ]; then
  gcc -O2 -Wall -shared -fPIC -o "$out" "$here/nodelay.c" -ldl
fi
echo "install-peers: ready ($(ssh -V 2>&1); $(/usr/sbin/nginx -v 2>&1); $(wrk -v 2>&1 | head -1); shim $out)" >&2
