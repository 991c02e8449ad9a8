#!/usr/bin/env bash
# What the bus costs: one process against the same replay split over the bus, run side by side.
#
#   Tests/Bus/throughput.sh [ENGINE...]        (default: .build/release/engine)
#
# Environment: SYMBOLS (500), STEPS (300) for the recorded simulator file, SHARDS (3),
# PARTITIONS (12), ROUNDS (3). Needs nats-server on the PATH. Each round runs, for each
# engine binary given (alternating, so that a shared machine's load falls on all alike):
#   replay   `engine replay FILE` (one process), wall seconds
#   ingest   `engine ingest --speed max` alone on a fresh bus, wall seconds
#   shards   merger + SHARDS shards started, then the ingest: wall seconds from the ingest's
#            start to the merger's exit; the merged output is compared with the replay's
# Every run starts its own nats-server on a free port with a store in a temporary directory.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
engines=("$@")
[ ${#engines[@]} -eq 0 ] && engines=("$root/.build/release/engine")
symbols=${SYMBOLS:-500}
steps=${STEPS:-300}
shards=${SHARDS:-3}
partitions=${PARTITIONS:-12}
rounds=${ROUNDS:-3}
command -v nats-server >/dev/null || {
  echo "nats-server is not installed (apt-get install nats-server)" >&2
  exit 2
}

work=$(mktemp -d /tmp/engine-bus-throughput.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$root"
file=$work/sim.jsonl
"${engines[0]}" record --feed sim --symbols "$symbols" --steps "$steps" --out "$file" 2>/dev/null
"${engines[0]}" replay "$file" --strategies Strategies --output jsonl >"$work/baseline.jsonl" 2>/dev/null
echo "file: $symbols symbols x $steps cycles, $(wc -l <"$work/baseline.jsonl") diff lines; $shards shards, $partitions partitions"

now() { date +%s.%N; }
seconds() { echo "$2 - $1" | bc; }

# Starts nats-server in a fresh directory; sets url and server.
start_server() {
  local dir=$1
  mkdir -p "$dir/ports"
  nats-server -a 127.0.0.1 -p -1 -js -sd "$dir/js" --ports_file_dir "$dir/ports" >"$dir/nats.log" 2>&1 &
  server=$!
  for _ in $(seq 100); do
    [ -s "$dir/ports/nats-server_$server.ports" ] && break
    sleep 0.1
  done
  url=$(grep -o 'nats://[0-9.:]*' "$dir/ports/nats-server_$server.ports" | head -1)
}

for round in $(seq "$rounds"); do
  for engine in "${engines[@]}"; do
    name=$(basename "$(dirname "$(dirname "$engine")")")/$(basename "$engine")
    start=$(now)
    "$engine" replay "$file" --strategies Strategies --output jsonl >/dev/null 2>&1
    replay=$(seconds "$start" "$(now)")

    dir=$(mktemp -d "$work/ingest.XXXX"); start_server "$dir"
    "$engine" bus init --nats "$url" --partitions "$partitions" 2>/dev/null
    start=$(now)
    "$engine" ingest --nats "$url" --feed "replay:$file" --speed max 2>/dev/null
    ingest=$(seconds "$start" "$(now)")
    kill "$server"; wait "$server" 2>/dev/null || true

    dir=$(mktemp -d "$work/shards.XXXX"); start_server "$dir"
    "$engine" bus init --nats "$url" --partitions "$partitions" 2>/dev/null
    "$engine" merge --nats "$url" --output jsonl >"$dir/merged.jsonl" 2>"$dir/merge.err" &
    merger=$!
    workers=()
    for i in $(seq 0 $((shards - 1))); do
      "$engine" shard --nats "$url" --shard "$i/$shards" --strategies Strategies 2>"$dir/shard$i.err" &
      workers+=($!)
    done
    sleep 1
    start=$(now)
    "$engine" ingest --nats "$url" --feed "replay:$file" --speed max 2>/dev/null
    wait "$merger"
    sharded=$(seconds "$start" "$(now)")
    wait "${workers[@]}"
    same=identical
    cmp -s "$dir/merged.jsonl" "$work/baseline.jsonl" || same=DIFFERENT
    kill "$server"; wait "$server" 2>/dev/null || true
    echo "round $round $name: replay ${replay}s, ingest ${ingest}s, $shards shards ${sharded}s (merged output $same)"
  done
done
