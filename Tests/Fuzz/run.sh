#!/usr/bin/env bash
# Builds the fuzzers and runs each for a bounded time.
#
#   Tests/Fuzz/run.sh [parser|strategy|all] [SECONDS]     (defaults: all, 60 s each)
#   Tests/Fuzz/run.sh findings                            (replays Tests/Fuzz/findings/)
#
# The committed seed corpus is copied to a working directory (FUZZ_WORK, default a fresh
# /tmp/engine-fuzz.XXXXXX), which the run grows; the committed one stays as it is. Findings
# (crash-*, timeout-*, oom-*, leak-*) go to WORK/NAME/artifacts/, the log to WORK/NAME/log.
#
# By default libFuzzer runs in fork mode with one job at a time, going on after a finding, so
# a bounded run reports every crash, hang and out-of-memory it meets, not only the first.
# FUZZ_FORK=0 runs in-process instead, stopping at the first finding.
# Extra libFuzzer flags: FUZZ_ARGS (e.g. FUZZ_ARGS="-use_value_profile=1").
# Build directory: FUZZ_SCRATCH (default .build-fuzz at the package root).
set -euo pipefail

which=${1:-all}
seconds=${2:-60}
case $which in
  parser | strategy | all | findings) ;;
  *)
    echo "usage: $0 [parser|strategy|all] [SECONDS] | $0 findings" >&2
    exit 2
    ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
scratch=${FUZZ_SCRATCH:-$root/.build-fuzz}
work=${FUZZ_WORK:-$(mktemp -d /tmp/engine-fuzz.XXXXXX)}

# `--sanitize=fuzzer` makes SwiftPM build the executables for libFuzzer's `main` (no entry
# point of their own) and instrument every target for coverage. AddressSanitizer is added
# separately: SwiftPM's `--sanitize=fuzzer --sanitize=address` passes swiftc two `-sanitize=`
# flags in no fixed order and swiftc keeps only the last one, so about every other build had
# no coverage instrumentation in Swift code. `-Xswiftc` flags come last, so this one, naming
# both, is the one swiftc keeps; clang adds up its `-fsanitize=` flags. The system Lua
# library itself is not instrumented.
build=(swift build --package-path "$here" --scratch-path "$scratch" -c release
  --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=address)
echo "== building: ${build[*]}"
nice -n 10 "${build[@]}"
bin=$("${build[@]}" --show-bin-path)

run() {
  local name=$1 target=$2
  local dir=$work/$name
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp "$here/corpus/$name/"* "$dir/corpus/"
  local flags=(
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048
    -dict="$here/$name.dict" -artifact_prefix="$dir/artifacts/" -print_final_stats=1
  )
  if [[ ${FUZZ_FORK:-1} != 0 ]]; then
    flags+=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  fi
  # shellcheck disable=SC2206 # FUZZ_ARGS is a list of flags
  flags+=(${FUZZ_ARGS:-})
  # Instrumented edges: a few hundred would mean the Swift code lacks coverage instrumentation.
  local counters
  counters=$("$bin/$target" -runs=0 2>&1 | sed -n 's/.*Loaded 1 modules *(\([0-9]*\) inline 8-bit counters.*/\1/p')
  echo "== $name: $target has ${counters:-no} coverage counters"
  echo "== $name: $bin/$target ${flags[*]} $dir/corpus"
  local status=0
  # SWIFT_BACKTRACE: a Swift runtime failure (a harness property's fatalError) would otherwise
  # start the Swift backtracer, which under AddressSanitizer can take minutes; libFuzzer's
  # handler reports it instead. (Set for the run only: a changed environment makes SwiftPM
  # rebuild everything.)
  (cd "$dir" && SWIFT_BACKTRACE=enable=no nice -n 10 "$bin/$target" "${flags[@]}" "$dir/corpus") >"$dir/log" 2>&1 || status=$?
  # The last progress line (`#RUNS: cov: ...` in fork mode, `#RUNS DONE cov: ...` in-process),
  # the final stats and any sanitizer or Swift error lines.
  grep -E '^#[0-9]+:? ' "$dir/log" | tail -n 1 || true
  grep -E '^(stat::|INFO: (fuzzed for|exiting)|==[0-9]+== ?ERROR|SUMMARY|.*Fatal error)' "$dir/log" \
    | sort | uniq -c | sort -rn | head -n 20 || true
  local findings
  findings=$(find "$dir/artifacts" -type f | sort)
  if [[ -n $findings ]]; then
    echo "== $name: FINDINGS (exit status $status), reproduce with: $bin/$target FILE"
    echo "$findings"
  else
    echo "== $name: no findings (exit status $status)"
  fi
  echo "== $name: log $dir/log"
}

# Runs each recorded finding once, as the fuzzer would: exit status 0 means it no longer
# reproduces (libFuzzer exits 70 on a timeout, 71 on out-of-memory, 1 on a crash).
replay() {
  local name=$1 target=$2 file status
  for file in "$here/findings/$name/"*; do
    [[ -f $file ]] || continue
    status=0
    SWIFT_BACKTRACE=enable=no nice -n 10 "$bin/$target" -timeout=10 -rss_limit_mb=2048 \
      "$file" >/dev/null 2>&1 || status=$?
    case $status in
      0) echo "fixed         $name/$(basename "$file")" ;;
      70) echo "timeout       $name/$(basename "$file")" ;;
      71) echo "out-of-memory $name/$(basename "$file")" ;;
      *) echo "crash ($status)    $name/$(basename "$file")" ;;
    esac
  done
}

if [[ $which == findings ]]; then
  replay parser FuzzParser
  replay strategy FuzzStrategy
  exit 0
fi

[[ $which == parser || $which == all ]] && run parser FuzzParser
[[ $which == strategy || $which == all ]] && run strategy FuzzStrategy
echo "== working directory: $work"
