/// The incremental EMA/RSI states of a worker (see `TALibrary.incremental`): one per symbol
/// and kind of series (interval, column, function, period), stored by symbol index.
///
/// Why not ``IndicatorTable``: a state is read once per cycle for each changed symbol, so it
/// is cold, and in a hash table the probe for it touched the occupancy byte, the key
/// (compared field by field) and, when the probe went on, the next slots: cold loads that
/// dominated a `ta.rsi` call. Here the few kinds of
/// series are found by a linear scan of packed 64-bit descriptions (hot in cache), and the
/// symbol's state by indexing: one cold line or two. States live in chunks of 256 symbols
/// made on first use, so a kind costs memory only for the symbols it is asked about. At most
/// ``maxKinds`` kinds: a strategy asking for more (`ta.ema(c, n)` over a range of `n`) gets
/// the full computation for the others, so neither a call's work nor the table's memory
/// grows with what strategies ask (32 kinds of 4096 symbols: 16 MB at most per worker).
package final class SmoothingTable {
  package static let maxKinds = 32
  private struct Storage {
    package var kinds: UnsafeMutablePointer<UInt64>
    /// `kind * chunksPerKind + symbol >> chunkShift` → the chunk, nil until used.
    package var chunks: UnsafeMutablePointer<UnsafeMutablePointer<SmoothingState>?>
    package var kindCount: Int
    package var kindCapacity: Int
  }
  private static let chunkShift = 8
  private static let chunkSize = 1 << chunkShift
  private let symbols: Int
  private let chunksPerKind: Int
  private let storage: UnsafeMutablePointer<Storage>

  /// A table for symbol indices `0..<symbols`.
  package init(symbols: Int) {
    self.symbols = max(0, symbols)
    chunksPerKind = max(1, (self.symbols + Self.chunkSize - 1) >> Self.chunkShift)
    storage = .allocate(capacity: 1)
    storage.initialize(
      to: Storage(
        kinds: .allocate(capacity: 4), chunks: Self.makeChunkList(4 * chunksPerKind),
        kindCount: 0, kindCapacity: 4))
  }

  private static func makeChunkList(_ n: Int) -> UnsafeMutablePointer<
    UnsafeMutablePointer<SmoothingState>?
  > {
    let list = UnsafeMutablePointer<UnsafeMutablePointer<SmoothingState>?>.allocate(capacity: n)
    list.initialize(repeating: nil, count: n)
    return list
  }

  deinit {
    let s = storage.pointee
    for c in 0..<(s.kindCount * chunksPerKind) { s.chunks[c]?.deallocate() }
    s.chunks.deallocate()
    s.kinds.deallocate()
    storage.deallocate()
  }

  /// The packed description of a kind of series.
  @inline(__always)
  package static func kind(interval: Int16, column: Int8, function: UInt8, period: Int32) -> UInt64
  {
    UInt64(UInt16(bitPattern: interval)) | UInt64(UInt8(bitPattern: column)) << 16
      | UInt64(function) << 24 | UInt64(UInt32(bitPattern: period)) << 32
  }

  /// The state of `symbol` for series `kind`: made empty (``SmoothingState/isEmpty``) on
  /// first use; nil for a symbol index outside the table or a kind beyond ``maxKinds``.
  /// Valid for the table's life.
  @inline(__always)
  package func state(_ symbol: Int32, kind: UInt64) -> UnsafeMutablePointer<SmoothingState>? {
    let i = Int(symbol)
    guard i >= 0, i < symbols else { return nil }
    let s = storage
    var k = 0
    let n = s.pointee.kindCount
    while k < n, s.pointee.kinds[k] != kind { k += 1 }
    if k == n {
      guard n < Self.maxKinds else { return nil }
      k = add(kind)
    }
    let c = k * chunksPerKind + i >> Self.chunkShift
    let chunk = s.pointee.chunks[c] ?? makeChunk(c)
    return chunk + (i & (Self.chunkSize - 1))
  }

  /// Kinds of series with states (for tests).
  package var kinds: Int { storage.pointee.kindCount }

  /// States that hold a series (for tests and figures).
  package var count: Int {
    let s = storage.pointee
    var n = 0
    for c in 0..<(s.kindCount * chunksPerKind) {
      guard let chunk = s.chunks[c] else { continue }
      for j in 0..<Self.chunkSize where !chunk[j].isEmpty { n += 1 }
    }
    return n
  }

  private func add(_ kind: UInt64) -> Int {
    let s = storage
    if s.pointee.kindCount == s.pointee.kindCapacity {
      let capacity = s.pointee.kindCapacity * 2
      let kinds = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
      kinds.update(from: s.pointee.kinds, count: s.pointee.kindCount)
      let chunks = Self.makeChunkList(capacity * chunksPerKind)
      chunks.update(from: s.pointee.chunks, count: s.pointee.kindCount * chunksPerKind)
      s.pointee.kinds.deallocate()
      s.pointee.chunks.deallocate()
      s.pointee.kinds = kinds
      s.pointee.chunks = chunks
      s.pointee.kindCapacity = capacity
    }
    s.pointee.kinds[s.pointee.kindCount] = kind
    s.pointee.kindCount += 1
    return s.pointee.kindCount - 1
  }

  private func makeChunk(_ c: Int) -> UnsafeMutablePointer<SmoothingState> {
    let chunk = UnsafeMutablePointer<SmoothingState>.allocate(capacity: Self.chunkSize)
    chunk.initialize(repeating: SmoothingState(), count: Self.chunkSize)
    storage.pointee.chunks[c] = chunk
    return chunk
  }
}
