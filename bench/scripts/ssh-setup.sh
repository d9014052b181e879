#!/usr/bin/env bash
# Connection setup as a developer feels it: `ssh relaymesh.dev true` through the ProxyCommand
# that `relaymesh config-ssh` writes (a fresh CLI process, i.e. a fresh JVM, per connection),
# beside OpenSSH's own jump host, `ssh -J bastion target true`, measured in the same run,
# interleaved, on loopback (docs/benchmarks.md, "SSH connection setup").
#
#   bench/scripts/ssh-setup.sh [ROUNDS]        (default 10)
#
# Starts its own `relaymesh dev` (free ports, temporary data, config and HOME directories) and,
# when /usr/sbin/sshd exists, an sshd on a free loopback port as both bastion and target; stops
# both at the end. The commands take turns (round robin, `date +%s%N` around each); prints the
# median of each and the ratios. The first ProxyCommand run after a build writes the launcher's class-data
# archive (cli/target/relaymesh.jsa); a warm-up run does that before measuring.
# Environment: RELAYMESH (launcher, default ./relaymesh of this checkout), SSH_SETUP_KEEP=1
# keeps the temporary directory, BASELINE=/path/to/another/checkout/relaymesh adds that
# launcher's ProxyCommand (same dev stack, same config dir) as a third command, e.g. the CLI
# before a change.
set -euo pipefail
rounds="${1:-10}"
root="$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)"
relaymesh="${RELAYMESH:-$root/relaymesh}"
work="$(mktemp -d /tmp/relaymesh-ssh-setup.XXXXXX)"
dev_pid="" sshd_pid=""

cleanup() {
  [ -n "$dev_pid" ] && kill "$dev_pid" 2>/dev/null && wait "$dev_pid" 2>/dev/null || true
  [ -n "$sshd_pid" ] && kill "$sshd_pid" 2>/dev/null || true
  if [ "${SSH_SETUP_KEEP:-}" != 1 ]; then rm -rf "$work"; else echo "kept $work" >&2; fi
}
trap cleanup EXIT INT TERM

export HOME="$work/home" RELAYMESH_CONFIG_DIR="$work/config"
mkdir -p "$HOME" && mkdir -m 700 "$RELAYMESH_CONFIG_DIR"

# --- relaymesh dev ---------------------------------------------------------------------------
"$relaymesh" dev --port 0 --relay-port 0 --data-dir "$work/dev" >"$work/dev.log" 2>&1 &
dev_pid=$!
for _ in $(seq 1 240); do
  grep -q 'relaymesh dev is running' "$work/dev.log" && break
  kill -0 "$dev_pid" 2>/dev/null || { cat "$work/dev.log" >&2; echo "relaymesh dev failed" >&2; exit 1; }
  sleep 0.5
done
grep -q 'relaymesh dev is running' "$work/dev.log" || { echo "relaymesh dev did not start in 120 s" >&2; exit 1; }
"$relaymesh" config-ssh -y --ssh-config "$work/ssh_config" >/dev/null
cmd_relay="ssh -F $work/ssh_config relaymesh.dev true"
$cmd_relay # warm-up: writes the class-data archive after a build, fills the relay-choice cache
cmd_base=""
if [ -n "${BASELINE:-}" ]; then
  sed "s|ProxyCommand .* ssh --stdio|ProxyCommand $BASELINE ssh --stdio|" "$work/ssh_config" >"$work/ssh_config_base"
  cmd_base="ssh -F $work/ssh_config_base relaymesh.dev true"
  $cmd_base
fi

# --- OpenSSH jump host on loopback -----------------------------------------------------------
cmd_jump=""
if [ -x /usr/sbin/sshd ]; then
  mkdir -p "$work/sshd"
  ssh-keygen -q -t ed25519 -N '' -f "$work/sshd/host_key"
  ssh-keygen -q -t ed25519 -N '' -f "$work/sshd/user_key"
  cp "$work/sshd/user_key.pub" "$work/sshd/authorized_keys"
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  cat >"$work/sshd/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $port
HostKey $work/sshd/host_key
AuthorizedKeysFile $work/sshd/authorized_keys
PidFile $work/sshd/sshd.pid
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
EOF
  mkdir -p /run/sshd
  /usr/sbin/sshd -D -e -f "$work/sshd/sshd_config" 2>"$work/sshd/log" &
  sshd_pid=$!
  sleep 0.5
  cat >>"$work/ssh_config" <<EOF

Host bastion target
  HostName 127.0.0.1
  Port $port
  User $(id -un)
  IdentityFile $work/sshd/user_key
  IdentitiesOnly yes
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
EOF
  cmd_jump="ssh -F $work/ssh_config -J bastion target true"
  $cmd_jump || { cat "$work/sshd/log" >&2; echo "ssh -J to the local sshd failed" >&2; exit 1; }
else
  echo "no /usr/sbin/sshd (apt-get install openssh-server): measuring relaymesh only" >&2
fi

# --- measure, interleaved --------------------------------------------------------------------
echo "ssh-setup: $rounds rounds, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
names=(relaymesh); [ -n "$cmd_base" ] && names+=(baseline); [ -n "$cmd_jump" ] && names+=(ssh-J)
: >"$work/times"
for i in $(seq 1 "$rounds"); do
  for name in "${names[@]}"; do
    case "$name" in relaymesh) c="$cmd_relay" ;; baseline) c="$cmd_base" ;; *) c="$cmd_jump" ;; esac
    s=$(date +%s%N); $c; e=$(date +%s%N)
    echo "$name $(( (e - s) / 1000000 ))" >>"$work/times"
  done
done
python3 - "$work/times" <<'EOF'
import statistics, sys
t = {}
for line in open(sys.argv[1]):
    n, ms = line.split(); t.setdefault(n, []).append(int(ms))
for n, v in t.items():
    print(f"{n:10s} median {statistics.median(v):7.0f} ms  min {min(v):6d}  max {max(v):6d}  (n={len(v)})")
for n in ("baseline", "ssh-J"):
    if "relaymesh" in t and n in t:
        print(f"ratio relaymesh / {n}: {statistics.median(t['relaymesh']) / statistics.median(t[n]):.2f}")
EOF
