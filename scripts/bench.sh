#!/usr/bin/env bash
# Regenerates BENCHMARKS.md: runs the micro-benchmarks and every `fenfu
# bench` configuration, keeps their JSON in benchmarks/results, and writes
# the report. PostgreSQL runs use FENFU_BENCH_POSTGRES (an administrative
# DSN; default postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)
# and create and drop their own databases. Takes about twenty minutes, most
# of it generating and settling a day of 1,000,000 orders.
set -euo pipefail
cd "$(dirname "$0")/.."
out=benchmarks/results
mkdir -p "$out"
tmp=$(mktemp -d)
bin=$tmp/fenfu
go build -o "$bin" ./cmd/fenfu
go build -o "$tmp/benchmd" ./scripts/benchmd

echo "--- micro-benchmarks"
go test -run XXX -bench . -benchtime 1s ./scheme/ ./qr/ ./ledger/ ./pay/ ./notify/ ./risk/ | grep -E '^(Benchmark|goos|goarch|cpu)' | sort -u > benchmarks/micro.txt

# Every payment run has every feature on: risk control with the default
# rules (on unless --risk-off), a fifth of the payments in installments,
# fees, notifications delivered to a local endpoint, audit.
run() { # label, then fenfu bench flags
  local label=$1; shift
  echo "--- $label"
  "$bin" bench --label "$label" --installments 0.2 -o "$out/$label.json" "$@"
}

run sqlite-rsa             --key rsa --concurrency 64  --count 8000
run sqlite-sm2             --key sm2 --concurrency 128 --count 30000
# The open-loop run arrives at half the closed-loop maximum just measured,
# for 15 seconds.
half=$("$tmp/benchmd" half "$out/sqlite-sm2.json")
run sqlite-sm2-halfrate    --key sm2 --rate "$half"    --count $((half * 15))
run sqlite-sm2-full        --key sm2 --concurrency 128 --count 20000 --sqlite-synchronous FULL
run sqlite-rsa-full        --key rsa --concurrency 64  --count 8000  --sqlite-synchronous FULL

echo "--- ledger alone, SQLite"
mkdir -p "$out/ledger"
"$bin" bench ledger --label sqlite --clients 16,64 --duration 10s --rounds 2 -o "$out/ledger/sqlite.json"

echo "--- risk control on and off, alternated (benchmarks/notes.md reads them)"
mkdir -p "$out/risk"
for r in 1 2; do
  "$bin" bench --label "risk on $r" --count 3000 -o "$out/risk/on$r.json"
  "$bin" bench --label "risk off $r" --count 3000 --risk-off -o "$out/risk/off$r.json"
done

admin=${FENFU_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
if psql "$admin" -Atc 'select 1' >/dev/null 2>&1; then
  pg() { # label, then flags: fresh databases for each run
    local label=$1; shift
    local base=${admin%%\?*}; base=${base%/*}
    local q=""; [[ "$admin" == *\?* ]] && q="?${admin#*\?}"
    for db in fenfu_bench_core fenfu_bench_credit; do
      psql "$admin" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
    done
    run "$label" --core-db "$base/fenfu_bench_core$q" --credit-db "$base/fenfu_bench_credit$q" "$@"
    for db in fenfu_bench_core fenfu_bench_credit; do psql "$admin" -qc "DROP DATABASE IF EXISTS $db" >/dev/null; done
  }
  pg postgres-sm2 --key sm2 --concurrency 64 --count 12000
  pg postgres-rsa --key rsa --concurrency 64 --count 6000
  # One node against two on the same PostgreSQL at the same total load
  # (each whole payment to the next node in turn), alternated 1, 2, 1, 2
  # so a change in the machine's other work falls on both sides; the
  # targets table reads each pair's ratio and the nodes' retries.
  mkdir -p "$out/two-nodes"
  for pair in 1 2; do
    for n in 1 2; do
      pg "two-nodes/pair$pair-nodes$n" --key sm2 --concurrency 64 --count 6000 --nodes "$n"
    done
  done
  pg_ledger() { # the ledger alone, with pgbench before and after as the day's speed of PostgreSQL
    local base=${admin%%\?*}; base=${base%/*}
    local q=""; [[ "$admin" == *\?* ]] && q="?${admin#*\?}"
    echo "--- ledger alone, PostgreSQL"
    psql "$admin" -qc "DROP DATABASE IF EXISTS fenfu_bench_core" -c "CREATE DATABASE fenfu_bench_core" >/dev/null
    "$bin" bench ledger --label postgres --core-db "$base/fenfu_bench_core$q" --clients 16,64 --duration 10s --rounds 2 \
      --pgbench 10s --pgbench-clients 16 -o "$out/ledger/postgres.json"
    psql "$admin" -qc "DROP DATABASE IF EXISTS fenfu_bench_core" >/dev/null
  }
  mkdir -p "$out/ledger"
  pg_ledger
  pg_settle() { # orders, merchants
    local base=${admin%%\?*}; base=${base%/*}
    local q=""; [[ "$admin" == *\?* ]] && q="?${admin#*\?}"
    for db in fenfu_bench_core fenfu_bench_credit; do
      psql "$admin" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
    done
    "$bin" bench settle --core-db "$base/fenfu_bench_core$q" --credit-db "$base/fenfu_bench_credit$q" \
      --orders "$1" --merchants "$2" -o "$out/settle/postgres-$1-$2.json"
    for db in fenfu_bench_core fenfu_bench_credit; do psql "$admin" -qc "DROP DATABASE IF EXISTS $db" >/dev/null; done
  }
  pg_settle 100000 100
  pg_settle 1000000 100
  pg_verify() { # orders
    local base=${admin%%\?*}; base=${base%/*}
    local q=""; [[ "$admin" == *\?* ]] && q="?${admin#*\?}"
    for db in fenfu_bench_core fenfu_bench_credit; do
      psql "$admin" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
    done
    "$bin" bench verify --core-db "$base/fenfu_bench_core$q" --credit-db "$base/fenfu_bench_credit$q" \
      --orders "$1" -o "$out/verify/postgres-$1.json"
    for db in fenfu_bench_core fenfu_bench_credit; do psql "$admin" -qc "DROP DATABASE IF EXISTS $db" >/dev/null; done
  }
  mkdir -p "$out/verify"
  pg_verify 10000
  pg_verify 100000
else
  echo "PostgreSQL not reachable at $admin: skipping its runs" >&2
fi

echo "--- settlement"
settle_run() { # orders, merchants; bench settle works in a temporary store
  "$bin" bench settle --orders "$1" --merchants "$2" -o "$out/settle/sqlite-$1-$2.json"
}
settle_run 100000 100
settle_run 300000 100
settle_run 1000000 100
settle_run 1000000 1000

echo "--- proof"
mkdir -p "$out/verify"
for n in 10000 100000 1000000; do "$bin" bench verify --orders "$n" -o "$out/verify/sqlite-$n.json"; done

"$tmp/benchmd" > BENCHMARKS.md
echo "BENCHMARKS.md written"
