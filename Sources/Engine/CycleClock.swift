import Support

/// The rule that cuts a feed's events into cycles. The engine and the bus's ingest both run
/// it, so a sharded run closes exactly the cycles one process closes.
///
/// When no cycle is open, an event opens cycle max(⌊time / cycle_ms⌋, last closed + 1): a late
/// event joins the next cycle instead of reopening a closed one. An event after the open
/// cycle's last millisecond closes it first. On a live feed a cycle also closes
/// `cycle_ms + cycle_grace_ms` of wall-clock time after it opened, so a quiet market still
/// gets its cycles.
public struct CycleClock: Sendable {
  public let cycleMs: Int64
  let closeAfterSeconds: Double
  /// The open cycle, if any.
  public private(set) var open: Int64?
  /// The last cycle closed (`Int64.min` before the first).
  public private(set) var lastClosed = Int64.min
  /// The open cycle's last event time (ms); `Int64.max` when none is open.
  private var openLast = Int64.max
  private var openedAt = 0.0

  public init(cycleMs: Int, cycleGraceMs: Int) {
    self.cycleMs = Int64(cycleMs)
    closeAfterSeconds = Double(cycleMs + cycleGraceMs) / 1000
  }

  /// Whether an event at `time` belongs after the open cycle, which must close first.
  @inline(__always)
  public func endsOpenCycle(at time: Int64) -> Bool { time > openLast }

  /// The cycle an event at `time` is applied to: the open one, or the one it opens.
  @inline(__always)
  public mutating func cycle(for time: Int64) -> Int64 {
    if let open { return open }
    let cycle = max(Self.floorDiv(time, cycleMs), lastClosed &+ 1)
    open = cycle
    openLast = Int64(clamping: Int128(cycle) * Int128(cycleMs) + Int128(cycleMs - 1))
    openedAt = MonotonicClock.seconds()
    return cycle
  }

  /// Closes the open cycle and returns it (nil when none is open).
  public mutating func closeOpen() -> Int64? {
    guard let cycle = open else { return nil }
    closed(cycle)
    return cycle
  }

  /// Records cycle `id` as closed, with nothing open (a cycle closed by another process).
  public mutating func closed(_ id: Int64) {
    lastClosed = id
    open = nil
    openLast = Int64.max
  }

  /// Live feeds: how long to wait for the next event before the open cycle is due to close
  /// by wall-clock time, at most `capMs` (`capMs` when no cycle is open).
  public func waitMs(cap capMs: Int) -> Int {
    guard open != nil else { return capMs }
    let left = (openedAt + closeAfterSeconds - MonotonicClock.seconds()) * 1000
    return max(0, min(capMs, Int(left.rounded(.down))))
  }

  /// Live feeds: whether the open cycle is due to close by wall-clock time.
  public var isDueByWallClock: Bool {
    open != nil && MonotonicClock.seconds() >= openedAt + closeAfterSeconds
  }

  static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
  }
}
