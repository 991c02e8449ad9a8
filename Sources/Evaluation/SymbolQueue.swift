import Synchronization

/// The read-buffer indices of one evaluation pass, shared by the workers: each takes its
/// share as it goes, a chunk at a time, from the front. Why not fixed equal shares: worker 0
/// runs on the cycle thread, whose cache holds the data it has just written, so it evaluates
/// faster than the others: with equal halves it would wait for the other worker; with chunks
/// taken as they go, the faster one takes more and neither waits.
package final class SymbolQueue: Sendable {
  package let symbols: [Int32]
  /// Symbols per take: the batch size in batch mode, else ``defaultChunk``.
  package let chunk: Int
  private let next = Atomic<Int>(0)

  /// The largest chunk outside batch mode: large enough that taking a chunk (one atomic add
  /// on a shared line) is negligible, small enough that the workers finish within a chunk's
  /// evaluation of each other.
  package static let defaultChunk = 64

  package init(_ symbols: [Int32], chunk: Int) {
    self.symbols = symbols
    self.chunk = max(1, chunk)
  }

  /// The positions in ``symbols`` of the next chunk, or nil when all are taken.
  package func take() -> Range<Int>? {
    let lo = next.add(chunk, ordering: .relaxed).oldValue
    guard lo < symbols.count else { return nil }
    return lo..<min(lo + chunk, symbols.count)
  }
}
