import Atomics

/// The double-buffered set of changed symbols.
///
/// Writers set a symbol's bit in the *write* half with an atomic OR. A cycle calls
/// ``swapAndDrain(into:)``: it flips which half is written, then empties the other (the
/// *read* half) word by word with an atomic exchange, collecting the set bits. A mark that
/// races the swap lands either in the half being drained (seen now) or in the new write half
/// (seen by the next drain of that half): no mark is ever lost, and none is seen twice.
///
/// For 4096 symbols the two halves take 2 × 64 words = 1 KiB.
public final class UpdateBitSet: Sendable {
  /// Symbols the set can hold (rounded up to a multiple of 64).
  public let capacity: Int
  private let wordsPerHalf: Int
  // safe: `UnsafeAtomic` storage is allocated once in `init` and freed in `deinit`; every
  // access goes through atomic operations, so the pointers may be shared across threads.
  nonisolated(unsafe) private let words: UnsafeMutablePointer<UnsafeAtomic<UInt64>.Storage>
  // safe: allocated in `init`, freed in `deinit`, only used through atomic operations.
  nonisolated(unsafe) private let control: UnsafeMutablePointer<UnsafeAtomic<UInt64>.Storage>
  /// Which half writers mark (0 or 1), and the number of marks.
  private var writeHalf: UnsafeAtomic<UInt64> { UnsafeAtomic(at: control) }
  private var updates: UnsafeAtomic<UInt64> { UnsafeAtomic(at: control + 1) }

  public init(capacity: Int) {
    let wordsPerHalf = max(1, (capacity + 63) / 64)
    self.wordsPerHalf = wordsPerHalf
    self.capacity = wordsPerHalf * 64
    words = .allocate(capacity: 2 * wordsPerHalf)
    words.initialize(repeating: .init(0), count: 2 * wordsPerHalf)
    control = .allocate(capacity: 2)
    control.initialize(repeating: .init(0), count: 2)
  }

  deinit {
    words.deinitialize(count: 2 * wordsPerHalf)
    words.deallocate()
    control.deinitialize(count: 2)
    control.deallocate()
  }

  /// Bytes taken by the two halves of update flags.
  public var flagBytes: Int { 2 * wordsPerHalf * MemoryLayout<UInt64>.size }

  /// Grows with every mark that set a bit not already set: a cycle that sees the same count
  /// as the previous one had no change and can be skipped.
  public var updateCount: UInt64 { updates.load(ordering: .acquiring) }

  /// Marks `symbol` as changed. Any thread may call it.
  @inline(__always)
  public func mark(_ symbol: Int) {
    let half = Int(writeHalf.load(ordering: .acquiring))
    let word = UnsafeAtomic<UInt64>(at: words + half * wordsPerHalf + (symbol >> 6))
    let bit: UInt64 = 1 << UInt64(symbol & 63)
    // Already marked in this half (a second event for the symbol): the drain will see it;
    // skip both read-modify-writes.
    if word.load(ordering: .relaxed) & bit != 0 { return }
    let old = word.loadThenBitwiseOr(with: bit, ordering: .acquiringAndReleasing)
    if old & bit == 0 { updates.wrappingIncrement(ordering: .releasing) }
  }

  /// Flips the halves and drains the read half, appending the marked symbol indices in
  /// ascending order to `indices`. One thread (the cycle) calls it at a time.
  public func swapAndDrain(into indices: inout [Int32]) {
    let old = writeHalf.load(ordering: .acquiring)
    writeHalf.store(1 - old, ordering: .sequentiallyConsistent)
    drain(half: Int(old), into: &indices)
  }

  /// Drains both halves (used at shutdown and by tests to collect stragglers).
  public func drainAll(into indices: inout [Int32]) {
    var seen = [Int32]()
    drain(half: 0, into: &seen)
    drain(half: 1, into: &seen)
    indices.append(contentsOf: Set(seen).sorted())
  }

  private func drain(half: Int, into indices: inout [Int32]) {
    let base = words + half * wordsPerHalf
    for w in 0..<wordsPerHalf {
      var bits = UnsafeAtomic<UInt64>(at: base + w).exchange(0, ordering: .acquiringAndReleasing)
      while bits != 0 {
        let bit = bits.trailingZeroBitCount
        indices.append(Int32(w * 64 + bit))
        bits &= bits &- 1
      }
    }
  }
}
