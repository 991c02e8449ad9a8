import Evaluation
import Foundation
import Tracking

#if canImport(Glibc)
  import Glibc
#endif

/// Section `memory`: one engine's state built in place (the store with the warm-up market
/// applied, one runtime per worker with the strategies compiled and a view of every symbol),
/// and the resident set before and after. It runs first in a bench run, before the bench's own
/// event arrays exist, so that the resident set grows by the engine's state only.
extension Benchmark {
  func measureMemory(_ code: CodeSet) throws(EngineError) -> [String: Double] {
    let before = Self.residentMB()
    let store = MarketStore(maxSymbols: max(4096, options.symbols), maxCandles: options.candles)
    let base = try StrategyRuntime(store: store, limits: SandboxLimits())
    let empty = Double(base.memoryInUse) / 1024
    try base.setPlugins(code.plugins)
    var compiled: [StrategyRuntime.Compiled] = []
    for s in code.strategies { compiled.append(try base.compile(s)) }
    base.install(compiled)
    let withStrategies = Double(base.memoryInUse) / 1024
    // The warm-up market, applied as it is generated.
    var rng = SplitMix64(seed: 7)
    _ = warmup(symbolNames(), &rng) { _ = store.apply($0) }
    var runtimes = [base]
    for _ in 1..<max(1, options.workers) {
      let r = try StrategyRuntime(store: store, limits: SandboxLimits())
      try r.setPlugins(code.plugins)
      r.install(try code.strategies.map { s throws(EngineError) in try r.compile(s) })
      runtimes.append(r)
    }
    for r in runtimes {
      for s in 0..<Int32(store.symbolCount) { r.prepareView(s) }
    }
    let withViews = Double(base.memoryInUse) / 1024
    let after = Self.residentMB()
    return [
      "flag_bytes_4096": Double(UpdateBitSet(capacity: 4096).flagBytes),
      "lua_state_kb_per_worker": withStrategies,
      "lua_state_empty_kb": empty,
      "lua_state_kb_per_strategy": (withStrategies - empty) / Double(max(1, code.strategies.count)),
      "lua_views_kb_per_symbol": (withViews - withStrategies) / Double(max(1, store.symbolCount)),
      "lua_state_kb_per_worker_with_views": withViews,
      "rss_mb": after,
      "engine_rss_mb": after - before,
      "workers": Double(runtimes.count),
    ]
  }

  /// The process's resident set in MB (Linux `/proc/self/statm`); 0 where it cannot be read.
  static func residentMB() -> Double {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else {
      return 0
    }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Double(fields[1]) else { return 0 }
    return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1e6
  }
}
