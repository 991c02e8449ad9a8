/// The candles of one symbol in one interval, oldest first, at most `limit` of them.
///
/// A plain value holding a pointer: copying it copies the view, not the candles, and costs
/// no reference counting (readers on the hot path copy it freely). Its storage belongs to
/// the ``MarketStore`` that created it, which frees it; a series made on its own must be
/// freed with ``deallocate()``.
///
/// Columns are contiguous arrays of `Double` so that readers (Lua series views, native
/// indicators) index them without copying. Storage holds up to `2 × limit` slots: appending
/// past the end first grows the buffer, and once at full size slides the live window back to
/// the start, so an append costs O(1) amortised and the window stays contiguous.
public struct KlineSeries {
  /// Column order in storage.
  public enum Column: Int, CaseIterable, Sendable {
    case time = 0, open, high, low, close, volume
  }
  static let columnCount = Column.allCases.count

  public let limit: Int
  public private(set) var count = 0
  /// Open time of the newest candle, kept beside the pointer: checking it on every kline
  /// event then costs no read of the candle storage (the main cache miss of applying a kline
  /// across thousands of symbols).
  private var newest: Int64 = .min
  /// The newest candle's values, kept beside the pointer for the same reason: readers of the
  /// newest value (incremental indicators) then need no candle storage line.
  private var newestCandle = (open: 0.0, high: 0.0, low: 0.0, close: 0.0, volume: 0.0)
  /// Candles appended since the series was created (a replaced newest candle does not count):
  /// two reads of the same value saw the same candles but, at most, a different newest one.
  public private(set) var appends = 0
  /// Whether the newest candle is only beside the pointer (``newest(_:)``), not yet in the
  /// storage: applying a candle writes its six values to storage only when the next candle
  /// is appended, or when a reader of the whole columns asks (``materialize()``). A live
  /// candle is replaced many times before it closes, and each write touched six cold cache
  /// lines (the main cost of applying a kline event); readers of the newest value
  /// alone (incremental indicators, `k.close[#k]`) never need it in storage.
  public private(set) var pending = false
  /// Whether the newest candle is closed (a kline with `x: true` said so); a candle is also
  /// closed once a newer one is appended.
  public private(set) var newestClosed = false
  /// Candles seen closing since the series was created: by a kline with `x: true`, or by a
  /// newer candle's arrival for one that never said so. Two reads of the same value saw the
  /// same closed candles.
  public private(set) var closes = 0
  private var start = 0
  private var slots: Int
  private var storage: UnsafeMutablePointer<Double>

  public init(limit: Int) {
    self.limit = max(1, limit)
    slots = min(2 * self.limit, 64)
    storage = .allocate(capacity: slots * Self.columnCount)
  }

  /// Frees the candles. The series (and every copy of it) must not be used afterwards.
  public func deallocate() { storage.deallocate() }

  /// Open time of the newest candle, or nil when empty.
  public var newestOpenTime: Int64? {
    count == 0 ? nil : newest
  }

  /// Pointer to the first (oldest) value of `column`; valid until the next mutation. The
  /// newest value (index `count - 1`) is current only after ``materialize()`` (see
  /// ``pending``).
  @inline(__always)
  public func values(_ column: Column) -> UnsafePointer<Double> {
    UnsafePointer(storage + column.rawValue * slots + start)
  }

  /// The newest candle's value in `column` (the series must not be empty).
  @inline(__always)
  public func newest(_ column: Column) -> Double {
    switch column {
    case .time: Double(newest)
    case .open: newestCandle.open
    case .high: newestCandle.high
    case .low: newestCandle.low
    case .close: newestCandle.close
    case .volume: newestCandle.volume
    }
  }

  @inline(__always)
  public func value(_ column: Column, at index: Int) -> Double {
    if pending, index == count - 1 { return newest(column) }
    return storage[column.rawValue * slots + start + index]
  }

  /// Writes the newest candle into storage if it is only beside the pointer, so that
  /// ``values(_:)`` reads it too. Idempotent; writes only values the series already holds.
  @inline(__always)
  public mutating func materialize() {
    guard pending else { return }
    writeNewest()
    pending = false
  }

  /// Stores the newest candle at its slot (`start + count - 1`).
  @inline(__always)
  private func writeNewest() {
    let i = start + count - 1
    storage[Column.time.rawValue * slots + i] = Double(newest)
    storage[Column.open.rawValue * slots + i] = newestCandle.open
    storage[Column.high.rawValue * slots + i] = newestCandle.high
    storage[Column.low.rawValue * slots + i] = newestCandle.low
    storage[Column.close.rawValue * slots + i] = newestCandle.close
    storage[Column.volume.rawValue * slots + i] = newestCandle.volume
  }

  public enum Outcome: Sendable { case replaced, appended, ignored }

  /// Applies a candle: same open time as the newest replaces it, a later one appends
  /// (dropping the oldest past `limit`), an earlier one is ignored.
  public mutating func apply(
    openTime: Int64, open: Double, high: Double, low: Double, close: Double, volume: Double,
    isClosed: Bool = false
  ) -> Outcome {
    let outcome: Outcome
    if let newest = newestOpenTime {
      if openTime == newest {
        outcome = .replaced
      } else if openTime > newest {
        outcome = .appended
      } else {
        return .ignored
      }
    } else {
      outcome = .appended
    }
    if outcome == .appended {
      // The previous newest candle is closed now, if it never said so.
      if count > 0, !newestClosed { closes += 1 }
      newestClosed = false
      // The previous newest candle goes to storage before the window moves.
      materialize()
      if count == limit {
        start += 1
        count -= 1
      }
      if start + count == slots { makeRoom() }
      count += 1
      appends += 1
    }
    newest = openTime
    newestCandle = (open, high, low, close, volume)
    pending = true
    if isClosed, !newestClosed {
      newestClosed = true
      closes += 1
    }
    return outcome
  }

  /// Grows the buffer (up to 2 × limit slots) or slides the window back to slot 0.
  private mutating func makeRoom() {
    let newSlots = min(2 * limit, slots * 2)
    if newSlots > slots {
      let bigger = UnsafeMutablePointer<Double>.allocate(capacity: newSlots * Self.columnCount)
      for c in 0..<Self.columnCount {
        (bigger + c * newSlots).update(from: storage + c * slots + start, count: count)
      }
      storage.deallocate()
      storage = bigger
      slots = newSlots
    } else {
      for c in 0..<Self.columnCount {
        let base = storage + c * slots
        // copyMemory is memmove: safe even if the windows overlap.
        UnsafeMutableRawPointer(base).copyMemory(
          from: base + start, byteCount: count * MemoryLayout<Double>.stride)
      }
    }
    start = 0
  }
}
