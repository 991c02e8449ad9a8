import EngineSettings
import Evaluation
import Feeds
import Foundation
import LuaKit
import Support
import Synchronization
import Tracking

#if canImport(Glibc)
  import Glibc
#endif

extension CycleEngine {
  /// The watchdog of this run's filter calls (see ``CallWatchdog``).
  func makeWatchdog() -> CallWatchdog {
    let store = self.store
    let log = self.reportFromAnyThread
    return CallWatchdog(
      probes: probes, timeoutMs: settings.callTimeoutMs,
      describe: { [self] tag in
        let (k, symbol) = StrategyRuntime.decodeTag(tag)
        let id = idsForReports.withLock { k < $0.count ? $0[k] : "#\(k)" }
        // Names are read in the read phase: no cycle thread writes meanwhile. A call holding
        // a worker keeps the cycle thread out of its write phase, so this does not wait long.
        let name =
          store.phase.withReadPhase(timeoutMs: 200) {
            symbol >= 0 && Int(symbol) < store.symbolCount ? store.symbols.name(at: symbol) : nil
          } ?? nil
        return (id, name ?? "#\(symbol)")
      }, report: log)
  }

  /// The filter calls running now (any thread); empty when the engine is not running.
  public func runningCalls() -> [RunningCall] {
    watchdog.withLock { $0 }?.running() ?? []
  }

  /// Stops every running filter call at its next Lua instruction (any thread): for a stop
  /// request that must not wait for a slow call. The cycle it belongs to is not reported.
  public func interruptRunningCalls() {
    watchdog.withLock { $0 }?.interruptAll()
  }
}
