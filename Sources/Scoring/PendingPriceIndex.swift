import Dispatch
import Foundation
import Synchronization

/// A ``PriceIndex`` being read on a thread of its own, so reading the prices overlaps the
/// replay that reads the same file for the engine.
public final class PendingPriceIndex: Sendable {
  private let result = Mutex<Result<PriceIndex, PriceIndexError>?>(nil)
  private let done = DispatchSemaphore(value: 0)

  /// Starts reading `path` at once.
  public init(path: String) {
    let thread = Thread { [self] in
      let loaded = Result { () throws(PriceIndexError) in try PriceIndex.load(path: path) }
      result.withLock { $0 = loaded }
      done.signal()
    }
    thread.name = "score-prices"
    thread.start()
  }

  /// The index, once read (blocks until then); the same answer on every call.
  public func wait() throws(PriceIndexError) -> PriceIndex {
    if let known = result.withLock({ $0 }) { return try known.get() }
    done.wait()
    done.signal()
    // The thread stored its result before signalling.
    guard let loaded = result.withLock({ $0 }) else { return PriceIndex() }
    return try loaded.get()
  }
}
