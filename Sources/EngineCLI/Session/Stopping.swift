import Dispatch
import Engine
import Support
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// A stop request that always ends the process in time. The engine stops at the end of the
/// cycle in progress; a filter call still running after ``interruptAfter`` seconds is stopped
/// at its next Lua instruction (that cycle is then not reported); and if the engine has not
/// returned after ``deadline`` seconds (a worker stuck inside a C function, which no hook
/// reaches), the process prints which strategy and symbol each busy worker is running and
/// exits with status 1. A second signal does the same at once.
final class Stopping: Sendable {
  static let interruptAfter = 0.5
  static let deadline = 1.5
  private let requests = Atomic<Int>(0)
  private let returned = Atomic<Bool>(false)

  func request(engine: CycleEngine) {
    let n = requests.add(1, ordering: .acquiringAndReleasing).newValue
    engine.requestStop()
    if n > 1 {
      exitNow(engine: engine, why: "a second stop request")
      return
    }
    DispatchQueue.global().asyncAfter(deadline: .now() + Self.interruptAfter) { [self] in
      if !returned.load(ordering: .acquiring) { engine.interruptRunningCalls() }
    }
    DispatchQueue.global().asyncAfter(deadline: .now() + Self.deadline) { [self] in
      if !returned.load(ordering: .acquiring) {
        exitNow(engine: engine, why: "no return within \(Self.deadline) s")
      }
    }
  }

  /// The engine's run returned: the rest of the shutdown is the process's own.
  func engineReturned() { returned.store(true, ordering: .releasing) }

  private func exitNow(engine: CycleEngine, why: String) {
    let busy = engine.runningCalls()
    var lines = "engine: stopping (\(why)): "
    if busy.isEmpty {
      lines += "the engine did not finish its cycle; exiting\n"
    } else {
      lines += "\(busy.count) worker\(busy.count == 1 ? "" : "s") did not come back; exiting\n"
      for call in busy {
        lines +=
          "engine: worker \(call.worker) is running strategy \(call.strategy) on \(call.symbol) "
          + "(for \((call.seconds * 10).rounded() / 10) s)\n"
      }
    }
    StandardError.write(lines)
    _exit(1)
  }
}
