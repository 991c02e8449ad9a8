import Dispatch
import Engine
import Support

#if canImport(Glibc)
  import Glibc
#endif

/// How the process takes SIGINT, SIGTERM and SIGUSR1.
enum Signals {
  /// Blocks SIGINT, SIGTERM and SIGUSR1 in the calling thread, and so in every thread it
  /// starts afterwards; call it before starting any. On Linux the dispatch signal sources
  /// read these signals through a `signalfd` (which sees a signal only while it is pending)
  /// and install a no-op handler for them without blocking them (`strace`: `rt_sigaction`
  /// then `signalfd4`, no `rt_sigprocmask`), so a thread that does not block a signal may
  /// take it first and the stop request would be lost. No loss was observed in tests; this
  /// closes the race rather than fixing a seen failure.
  static func block() {
    var set = sigset_t()
    sigemptyset(&set)
    for sig in [SIGINT, SIGTERM, SIGUSR1] { sigaddset(&set, sig) }
    pthread_sigmask(SIG_BLOCK, &set, nil)
  }

  /// Calls `action` on a dispatch queue for each SIGINT or SIGTERM, instead of the default
  /// (ending the process). Cancel the returned sources to stop.
  static func onStop(_ action: @escaping @Sendable () -> Void) -> [DispatchSourceSignal] {
    [SIGINT, SIGTERM].map { sig in
      signal(sig, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
      source.setEventHandler(handler: action)
      source.resume()
      return source
    }
  }

  /// SIGINT/SIGTERM stop the engine cleanly (exit 0) within `Stopping.deadline` seconds,
  /// whatever a worker is doing (see `Stopping`); SIGUSR1 prints the update ring.
  static func install(engine: CycleEngine, stopping: Stopping) -> [DispatchSourceSignal] {
    var sources = onStop { stopping.request(engine: engine) }
    signal(SIGUSR1, SIG_IGN)
    let usr1 = DispatchSource.makeSignalSource(signal: SIGUSR1, queue: .global())
    usr1.setEventHandler {
      StandardError.write(
        engine.ring.isEnabled
          ? engine.ring.dump() : "update ring is off (start with --debug-updates)\n")
    }
    usr1.resume()
    sources.append(usr1)
    return sources
  }
}
