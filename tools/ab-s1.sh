#!/usr/bin/env bash
# A/B of S1 (the closed-loop identify benchmark) between server binaries, in
# one run, interleaved: for each round and each binary, a fresh server alone
# on CPU 0 and the load generator on CPU 1, as `cargo xtask bench` does.
#
#   tools/ab-s1.sh ROUNDS CLIENTS SECONDS LABEL=BINARY[:EXTRA FLAGS] ...
#
# Prints one line per run (label, acks/s, server CPU µs per ack) and, per
# label, the median acks/s. The load generator is target/release/loadgen
# (or $LOADGEN).
set -euo pipefail
rounds=$1 clients=$2 seconds=$3
shift 3
loadgen=${LOADGEN:-target/release/loadgen}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
declare -A results
for round in $(seq 1 "$rounds"); do
  for spec in "$@"; do
    label=${spec%%=*}; rest=${spec#*=}; bin=${rest%%:*}; extra=""
    [[ $rest == *:* ]] && extra=${rest#*:}
    port=$(free_port)
    # shellcheck disable=SC2086
    taskset -c 0 "$bin" --bind "127.0.0.1:$port" $extra >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.05; done
    kill -0 "$pid" 2>/dev/null || { echo "$label did not start on port $port" >&2; exit 1; }
    line=$(taskset -c 1 "$loadgen" --scenario s1 --addr "127.0.0.1:$port" --clients "$clients" \
      --server-pid "$pid" --target socketio --seconds "$seconds" 2>/dev/null | tail -1)
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
    rate=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["failed_clients"] == 0, d.get("first_error"); print(round(d["acks_per_sec"]), round(1e6*d["server_cpu_secs"]/max(d["acks"],1),1))' "$line")
    echo "round $round  $label  acks/s ${rate% *}  server µs/ack ${rate#* }"
    results[$label]="${results[$label]:-} ${rate% *}"
  done
done
for spec in "$@"; do
  label=${spec%%=*}
  echo "$label median: $(echo ${results[$label]} | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}') (rounds:${results[$label]})"
done
