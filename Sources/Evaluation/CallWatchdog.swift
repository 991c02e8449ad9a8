import CLuaHost
import Foundation
import Synchronization
import Tracking
import Support

#if canImport(Glibc)
  import Glibc
#endif

/// A filter call running now, as another thread sees it.
public struct RunningCall: Sendable, Equatable {
  /// The worker running it.
  public var worker: Int
  /// The strategy's id and the symbol, or `#index` when the name could not be read.
  public var strategy: String
  public var symbol: String
  /// How long it has run, as far as the watchdog has seen (its sampling period at most less).
  public var seconds: Double
}

/// Watches the workers' filter calls from a thread of its own: a call that runs past
/// `sandbox.call_timeout_ms` of wall-clock time is reported (strategy and symbol) and stopped
/// at its next Lua instruction, where it fails like any erroring call. The budgets bound
/// every call's work; this bounds what they cannot count (comparing two long strings is one
/// instruction), and tells which strategy holds a worker when the engine must stop.
package final class CallWatchdog: Sendable {
  private struct Seen {
    package var calls: UInt64
    package var since: Double
    package var reported: Bool
  }

  private let probes: WorkerProbes
  private let timeout: Double
  private let describe: @Sendable (UInt64) -> (strategy: String, symbol: String)
  private let report: @Sendable (String) -> Void
  private let seen = Mutex<[Int: Seen]>([:])
  private let stopped = Atomic<Bool>(false)
  private let done = DispatchSemaphore(value: 0)

  /// - Parameters:
  ///   - timeoutMs: `sandbox.call_timeout_ms` (0: watch only, never stop a call).
  ///   - describe: a call's strategy id and symbol from its tag (any thread).
  ///   - report: one line about a stopped call (any thread).
  package init(
    probes: WorkerProbes, timeoutMs: Int,
    describe: @escaping @Sendable (UInt64) -> (strategy: String, symbol: String),
    report: @escaping @Sendable (String) -> Void
  ) {
    self.probes = probes
    self.timeout = Double(timeoutMs) / 1000
    self.describe = describe
    self.report = report
  }

  /// Starts the watching thread.
  package func start() {
    let thread = Thread { [self] in
      // A tenth of the timeout, so a call is stopped within 10% of it; at most 100 ms.
      let period = timeout > 0 ? min(0.1, timeout / 10) : 0.1
      while !stopped.load(ordering: .acquiring) {
        check()
        Thread.sleep(forTimeInterval: period)
      }
      done.signal()
    }
    thread.name = "engine-watchdog"
    thread.start()
  }

  /// Stops the watching thread and waits for it.
  package func stop() {
    guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
    done.wait()
  }

  private func check() {
    let now = MonotonicClock.seconds()
    var late: [(worker: Int, calls: UInt64, tag: UInt64, seconds: Double)] = []
    let samples = probes.sample()
    seen.withLock { seen in
      for s in samples {
        guard s.calls & 1 == 1 else {
          seen[s.worker] = nil
          continue
        }
        if var entry = seen[s.worker], entry.calls == s.calls {
          if timeout > 0, !entry.reported, now - entry.since >= timeout {
            entry.reported = true
            seen[s.worker] = entry
            late.append((s.worker, s.calls, s.tag, now - entry.since))
          }
        } else {
          seen[s.worker] = Seen(calls: s.calls, since: now, reported: false)
        }
      }
    }
    for call in late {
      let (strategy, symbol) = describe(call.tag)
      report(
        "strategy \(strategy): the call on \(symbol) ran for \(Self.format(call.seconds)) s, past "
          + "sandbox.call_timeout_ms (\(Int(timeout * 1000))); stopping it (counts as no match)")
      probes.interrupt(call.worker, calls: call.calls, reason: Int32(CLUA_INTERRUPT_TIMEOUT))
    }
  }

  /// The calls running now, with how long each has run as far as this watchdog has seen.
  package func running() -> [RunningCall] {
    let now = MonotonicClock.seconds()
    let samples = probes.sample()
    let since = seen.withLock { $0 }
    return samples.filter { $0.calls & 1 == 1 }.map { s in
      let started = since[s.worker].flatMap { $0.calls == s.calls ? $0.since : nil } ?? now
      let (strategy, symbol) = describe(s.tag)
      return RunningCall(
        worker: s.worker, strategy: strategy, symbol: symbol, seconds: now - started)
    }
  }

  /// Stops every running call at its next Lua instruction (the engine is shutting down).
  package func interruptAll() {
    for s in probes.sample() where s.calls & 1 == 1 {
      probes.interrupt(s.worker, calls: s.calls, reason: Int32(CLUA_INTERRUPT_STOP))
    }
  }

  package static func format(_ seconds: Double) -> String {
    String((seconds * 10).rounded() / 10)
  }
}
