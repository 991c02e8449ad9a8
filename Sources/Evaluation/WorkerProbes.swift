import CLuaHost
import Foundation
import Synchronization
import Tracking
import Support

#if canImport(Glibc)
  import Glibc
#endif

/// Where each worker's Lua state can be reached from other threads: its budget, whose call
/// counter, tag and interrupt request are atomics (`clua_callsof`, `clua_tagof`,
/// `clua_interrupt`), and the thread bound to it (`clua_interrupt_bind`).
package final class WorkerProbes: Sendable {
  package struct Probe: @unchecked Sendable {  // safe: see `budget`
    /// Read and written from other threads only through the C accessors above, which use
    /// atomics; it stays allocated while registered: a worker unregisters its probe (under
    /// the lock every reader holds) before its state is closed.
    package let budget: UnsafeMutablePointer<clua_Budget>
    package let thread: pthread_t
  }

  /// The signal that interrupts a call (its handler only arms a hook: see budget.c). SIGURG is
  /// ignored by default and unused by the runtime libraries here.
  package static let signal = SIGURG

  private let probes = Mutex<[Int: Probe]>([:])

  package init() {
    _ = clua_interrupt_install(Self.signal)
  }

  /// Registers worker `worker`'s state; call on the thread that owns it.
  package func register(_ worker: Int, budget: UnsafeMutablePointer<clua_Budget>) {
    clua_interrupt_bind(budget)
    let probe = Probe(budget: budget, thread: pthread_self())
    probes.withLock { $0[worker] = probe }
  }

  /// Unregisters worker `worker`; call on its thread before its state is closed.
  package func unregister(_ worker: Int) {
    _ = probes.withLock { $0.removeValue(forKey: worker) }
    clua_interrupt_bind(nil)
  }

  /// Each worker's running call: `calls` (odd while a call runs) and its tag.
  package func sample() -> [(worker: Int, calls: UInt64, tag: UInt64)] {
    probes.withLock { probes in
      probes.sorted { $0.key < $1.key }.map { worker, p in
        (worker, UInt64(clua_callsof(p.budget)), UInt64(clua_tagof(p.budget)))
      }
    }
  }

  /// Asks call `calls` of `worker` to stop at its next Lua instruction (no effect once it
  /// has ended).
  package func interrupt(_ worker: Int, calls: UInt64, reason: Int32) {
    probes.withLock { probes in
      guard let p = probes[worker] else { return }
      _ = clua_interrupt(p.budget, calls, reason, p.thread, Self.signal)
    }
  }
}
