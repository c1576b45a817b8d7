#!/bin/bash
# The lean in-guest suite of the matrix (also run natively for the host kernel):
# `cryo check --json`, then each test program through checkpoint (kill) and restore, SIGTERM,
# PASS/FAIL from the program's own check. Results: OUT/{uname,check.json,check.rc,results.tsv}.
# Usage: guest-suite.sh OUT   (OUT holds env.sh with CRYO= and PROGS=)
set -u
OUT=${1:?results directory}
. "$OUT/env.sh"
OUT=${1}
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
uname -r > "$OUT/uname"
"$CRYO" check --json > "$OUT/check.json" 2> "$OUT/check.err"
echo $? > "$OUT/check.rc"
: > "$OUT/results.tsv"
work=$(mktemp -d /tmp/cryo-matrix.XXXXXX)

# wait_for CONDITION-COMMAND SECONDS
wait_for() {
  local deadline=$((SECONDS + $2))
  until eval "$1"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}

one() {
  local name=$1 prog=$2; shift 2
  local dir=$work/$name; mkdir -p "$dir"
  local result=pass detail=""
  # A subshell: the program's parent becomes pid 1, which reaps it when checkpoint kills it.
  ( "$PROGS/$prog" --pidfile="$dir/pid" --outfile="$dir/out" "$@" </dev/null >"$dir/log" 2>&1 & )
  if ! wait_for "[[ -s $dir/pid ]]" 120; then
    echo -e "$name\tfail-start\tno pidfile: $(tail -c 200 "$dir/log" | tr '\n\t' '  ')" >> "$OUT/results.tsv"; return
  fi
  local pid; pid=$(cat "$dir/pid")
  local t0=$SECONDS
  if ! "$CRYO" checkpoint "$pid" -o "$dir/image" >>"$dir/log" 2>&1; then
    kill -9 "$pid" 2>/dev/null
    echo -e "$name\tfail-checkpoint\t$(tail -n 3 "$dir/log" | tr '\n\t' '  ')" >> "$OUT/results.tsv"; return
  fi
  wait_for "[[ ! -e /proc/$pid ]]" 30
  if ! "$CRYO" restore "$dir/image" --detach >>"$dir/log" 2>&1; then
    echo -e "$name\tfail-restore\t$(tail -n 3 "$dir/log" | tr '\n\t' '  ')" >> "$OUT/results.tsv"; return
  fi
  kill -TERM "$pid" 2>/dev/null
  if ! wait_for "[[ -s $dir/out ]]" 150; then
    kill -9 "$pid" 2>/dev/null
    echo -e "$name\tfail-timeout\tno outfile after SIGTERM: $(tail -n 3 "$dir/log" | tr '\n\t' '  ')" >> "$OUT/results.tsv"; return
  fi
  if [[ $(cat "$dir/out") == PASS ]]; then
    detail="$((SECONDS - t0)) s"
  else
    result=fail; detail="$(head -c 300 "$dir/out" | tr '\n\t' '  ') $(grep -m2 -i fail "$dir/log" | tr '\n\t' '  ')"
  fi
  echo -e "$name\t$result\t$detail" >> "$OUT/results.tsv"
}

one sleep sleep --interval-ms=10 --busy=20000
one pipe pipe --size=100000
one multipipe multipipe
one fifo fifo --dir="$work"
one pipewriter pipewriter
one memhog memhog --mib=16
rm -rf "$work"
