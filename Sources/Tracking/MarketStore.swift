/// The latest market state of every symbol: ticker fields and kline series per interval.
///
/// Concurrency design ("single writer between cycles"): only the cycle thread writes, through
/// ``apply(_:)``, and only while no worker is evaluating. Workers read while the cycle thread
/// waits for them; the hand-off in both directions goes through a mutex (the worker pool's
/// dispatch and completion), which orders every write before every read of the same cycle.
/// A reader therefore never sees half of one tick and half of the next; the stress test in
/// `TrackingTests` drives a writer and readers on real threads through ``CyclePhaseLock``.
/// One exception, by design: a worker may write the newest candle of the symbol it evaluates
/// into that series' storage (``materializeNewest(_:interval:)``); symbols are split among
/// workers, so that series has no other reader or writer until the phase ends.
public final class MarketStore: @unchecked Sendable {  // safe: phases, see below
  // safe: mutation happens on the cycle thread while holding the write phase of `phase`;
  // reads happen while holding its read phase (see the type's comment); the one read-phase
  // write (`materializeNewest`) touches only a series of a symbol owned by the calling worker
  // for the phase (workers get disjoint symbol shares).

  /// Per-symbol ticker state. `time` is `E` of the latest ticker; `hasTicker` is false until
  /// the first ticker arrives.
  public struct Ticker: Sendable {
    public var fields = TickerFields()
    public var time: Int64 = 0
    public var hasTicker = false
  }

  public static let maxIntervals = 16

  public let maxCandles: Int
  public let phase = CyclePhaseLock()

  /// Mutable bookkeeping, behind a pointer: class properties would pay a dynamic
  /// exclusivity check on every event (seen in profiles), a pointer does not.
  private struct State {
    var symbols: SymbolTable
    var intervals: [String] = []
    /// ``intervals`` as events carry them.
    var intervalKeys: [EventName] = []
    var initialized = 0
    var eventsApplied = 0
    var klinesIgnored = 0
    var symbolsRejected = 0
  }
  private let state: UnsafeMutablePointer<State>

  public var symbols: SymbolTable { state.pointee.symbols }
  public var intervals: [String] { state.pointee.intervals }
  public var intervalCount: Int { state.pointee.intervals.count }
  /// Counters of what ``apply(_:)`` did.
  public var eventsApplied: Int { state.pointee.eventsApplied }
  public var klinesIgnored: Int { state.pointee.klinesIgnored }
  public var symbolsRejected: Int { state.pointee.symbolsRejected }

  /// The name of a tracked symbol.
  @inline(__always)
  public func name(of symbol: Int32) -> String { state.pointee.symbols.name(at: symbol) }
  /// Per-symbol state in flat buffers allocated once at `max_symbols`: the hot path reads
  /// them through pointers, with no copy-on-write or exclusivity checks.
  private let tickers: UnsafeMutablePointer<Ticker>
  private let versionStorage: UnsafeMutablePointer<UInt64>
  /// Series of symbol `s` in interval `i` at `i * capacity + s` (nil: none yet). Interval
  /// major: the slots of one interval sit together (48 bytes per symbol), so the slots a
  /// cycle touches stay cached; symbol-major rows of 16 slots spread them over 768 bytes
  /// per symbol, and the slot load was the main cache miss of applying a kline.
  private let series: UnsafeMutablePointer<KlineSeries?>
  private let capacity: Int

  public convenience init(maxSymbols: Int, maxCandles: Int) {
    self.init(
      maxSymbols: maxSymbols, maxCandles: maxCandles,
      payloadsInPlace: MarketEvent.payloadsInPlace)
  }

  /// `payloadsInPlace` false: events are read from a copy, as on a platform where
  /// ``MarketEvent/payloadsInPlace`` is false (tests compare both paths).
  init(maxSymbols: Int, maxCandles: Int, payloadsInPlace: Bool) {
    self.payloadsInPlace = payloadsInPlace
    self.maxCandles = maxCandles
    state = .allocate(capacity: 1)
    state.initialize(to: State(symbols: SymbolTable(capacity: maxSymbols)))
    capacity = max(1, maxSymbols)
    tickers = .allocate(capacity: capacity)
    versionStorage = .allocate(capacity: capacity)
    series = .allocate(capacity: capacity * Self.maxIntervals)
    series.initialize(repeating: nil, count: capacity * Self.maxIntervals)
  }

  deinit {
    let initialized = state.pointee.initialized
    for i in 0..<(capacity * Self.maxIntervals) { series[i]?.deallocate() }
    series.deinitialize(count: capacity * Self.maxIntervals)
    series.deallocate()
    tickers.deinitialize(count: initialized)
    tickers.deallocate()
    versionStorage.deallocate()
    state.deinitialize(count: 1)
    state.deallocate()
  }

  /// Changes of `symbol`'s data, bumped on every applied event (lets views skip refreshes).
  @inline(__always)
  public func version(_ symbol: Int32) -> UInt64 { versionStorage[Int(symbol)] }

  public enum ApplyError: Error, Equatable, CustomStringConvertible, Sendable {
    case tooManySymbols(String, capacity: Int)
    case tooManyIntervals(String)
    /// A name over ``EventName/inlineCapacity`` bytes, past the ``EventName/maxLongNames``
    /// such names the process keeps.
    case tooManyLongNames
    public var description: String {
      switch self {
      case .tooManySymbols(let s, let c):
        "symbol \(s) not tracked: max_symbols (\(c)) reached"
      case .tooManyIntervals(let i):
        "kline interval \(i) not tracked: at most \(MarketStore.maxIntervals) intervals"
      case .tooManyLongNames:
        "name not tracked: over \(EventName.inlineCapacity) bytes, and \(EventName.maxLongNames) such names were seen already"
      }
    }
  }

  public enum Applied: Sendable, Equatable {
    /// The event changed the symbol at this index.
    case changed(Int32)
    /// A kline older than the newest candle: counted, not applied.
    case ignored
  }

  /// Index of an interval name, interning it.
  public func intervalIndex(_ name: String) -> Int? { intervalIndex(EventName(name)) }

  /// Index of an interval name, interning it; nil when ``maxIntervals`` are known already
  /// (or the name is an ``EventName/isOverflow`` one).
  @inline(__always)
  public func intervalIndex(_ name: EventName) -> Int? {
    if let i = state.pointee.intervalKeys.firstIndex(of: name) { return i }
    guard state.pointee.intervals.count < Self.maxIntervals, !name.isOverflow else { return nil }
    state.pointee.intervals.append(name.string)
    state.pointee.intervalKeys.append(name)
    return state.pointee.intervals.count - 1
  }

  /// Index of an interval name if known.
  public func knownIntervalIndex(_ name: String) -> Int? {
    state.pointee.intervals.firstIndex(of: name)
  }

  /// Applies one event. Call only on the cycle thread, outside evaluation.
  public func apply(_ event: borrowing MarketEvent) -> Result<Applied, ApplyError> {
    withUnsafePointer(to: event) { apply(at: $0) }
  }

  /// ``apply(_:)`` of the event at `event`, read in place: the cycle thread's batch loop
  /// uses it, since passing an array element by value made a copy of the whole event per
  /// event, and so does a `switch` binding its payload (see
  /// ``MarketEvent/payloadsInPlace``).
  @inline(__always)
  public func apply(at event: UnsafePointer<MarketEvent>) -> Result<Applied, ApplyError> {
    if payloadsInPlace {
      let raw = UnsafeRawPointer(event)
      if case .ticker = event.pointee {
        return applyTicker(raw.assumingMemoryBound(to: TickerEvent.self))
      }
      return applyKline(raw.assumingMemoryBound(to: KlineEvent.self))
    }
    switch event.pointee {
    case .ticker(let t):
      return withUnsafePointer(to: t) { applyTicker($0) }
    case .kline(let k):
      return withUnsafePointer(to: k) { applyKline($0) }
    }
  }

  /// ``MarketEvent/payloadsInPlace``, kept here: a `static let` is a lazy global (a check per
  /// read).
  public let payloadsInPlace: Bool

  /// The index of `name`, interning it (and initializing its state) if new; nil (counted)
  /// when `max_symbols` symbols are tracked already.
  @inline(__always)
  private func symbolIndex(_ name: EventName) -> Int? {
    guard let sym = state.pointee.symbols.intern(name) else {
      state.pointee.symbolsRejected += 1
      return nil
    }
    let s = Int(sym)
    if s == state.pointee.initialized {
      (tickers + s).initialize(to: Ticker())
      versionStorage[s] = 0
      state.pointee.initialized += 1
    }
    return s
  }

  private func rejected(_ name: EventName) -> Result<Applied, ApplyError> {
    if name.isOverflow { return .failure(.tooManyLongNames) }
    return .failure(.tooManySymbols(name.string, capacity: state.pointee.symbols.capacity))
  }

  /// Counts an applied event that changed symbol `s`.
  @inline(__always)
  private func changed(_ s: Int) -> Result<Applied, ApplyError> {
    versionStorage[s] &+= 1
    state.pointee.eventsApplied += 1
    return .success(.changed(Int32(s)))
  }

  @inline(__always)
  private func applyTicker(_ t: UnsafePointer<TickerEvent>) -> Result<Applied, ApplyError> {
    guard let s = symbolIndex(t.pointee.symbolName) else { return rejected(t.pointee.symbolName) }
    let ticker = tickers + s
    if t.pointee.isMini {
      ticker.pointee.fields.price = t.pointee.fields.price
      ticker.pointee.fields.open = t.pointee.fields.open
      ticker.pointee.fields.high = t.pointee.fields.high
      ticker.pointee.fields.low = t.pointee.fields.low
      ticker.pointee.fields.volume = t.pointee.fields.volume
      ticker.pointee.fields.quoteVolume = t.pointee.fields.quoteVolume
      ticker.pointee.fields.change = t.pointee.fields.price - t.pointee.fields.open
      ticker.pointee.fields.changePct =
        100 * (t.pointee.fields.price - t.pointee.fields.open) / t.pointee.fields.open
    } else {
      // A field this ticker lacks keeps its previous value: "never sent" means nil.
      func merge(_ old: inout Double, _ new: Double) { if !new.isNaN { old = new } }
      merge(&ticker.pointee.fields.price, t.pointee.fields.price)
      merge(&ticker.pointee.fields.open, t.pointee.fields.open)
      merge(&ticker.pointee.fields.high, t.pointee.fields.high)
      merge(&ticker.pointee.fields.low, t.pointee.fields.low)
      merge(&ticker.pointee.fields.volume, t.pointee.fields.volume)
      merge(&ticker.pointee.fields.quoteVolume, t.pointee.fields.quoteVolume)
      merge(&ticker.pointee.fields.change, t.pointee.fields.change)
      merge(&ticker.pointee.fields.changePct, t.pointee.fields.changePct)
      merge(&ticker.pointee.fields.vwap, t.pointee.fields.vwap)
      merge(&ticker.pointee.fields.bid, t.pointee.fields.bid)
      merge(&ticker.pointee.fields.ask, t.pointee.fields.ask)
    }
    ticker.pointee.time = t.pointee.eventTime
    ticker.pointee.hasTicker = true
    return changed(s)
  }

  @inline(__always)
  private func applyKline(_ k: UnsafePointer<KlineEvent>) -> Result<Applied, ApplyError> {
    guard let s = symbolIndex(k.pointee.symbolName) else { return rejected(k.pointee.symbolName) }
    guard let iv = intervalIndex(k.pointee.intervalName) else {
      if k.pointee.intervalName.isOverflow { return .failure(.tooManyLongNames) }
      return .failure(.tooManyIntervals(k.pointee.interval))
    }
    let slot = series + iv * capacity + s
    if slot.pointee == nil { slot.pointee = KlineSeries(limit: maxCandles) }
    let outcome =
      slot.pointee?.apply(
        openTime: k.pointee.openTime, open: k.pointee.open, high: k.pointee.high,
        low: k.pointee.low, close: k.pointee.close,
        volume: k.pointee.volume, isClosed: k.pointee.isClosed) ?? .ignored
    if outcome == .ignored {
      state.pointee.klinesIgnored += 1
      return .success(.ignored)
    }
    return changed(s)
  }

  // MARK: Reading (workers, during evaluation)

  public var symbolCount: Int { state.pointee.symbols.count }

  @inline(__always)
  public func ticker(_ symbol: Int32) -> Ticker { tickers[Int(symbol)] }

  @inline(__always)
  public func series(_ symbol: Int32, interval: Int) -> KlineSeries? {
    series[interval * capacity + Int(symbol)]
  }

  /// Where the series of `symbol` in `interval` lives. The address is stable for the store's
  /// life (the buffer is allocated once), so views may keep it; read it only in the read
  /// phase.
  @inline(__always)
  public func seriesSlot(_ symbol: Int32, interval: Int) -> UnsafeMutablePointer<KlineSeries?> {
    series + interval * capacity + Int(symbol)
  }

  /// Writes the newest candle of `symbol` in `interval` into its storage (see
  /// ``KlineSeries/pending``), for readers of whole columns. The one write workers make: a
  /// worker calls it only for the symbol it is evaluating, symbols are split among workers
  /// (no two threads touch one series in a read phase), and it writes only values the
  /// series already holds beside its pointer, so readers see the same candles either way.
  @inline(__always)
  public func materializeNewest(_ symbol: Int32, interval: Int) {
    (series + interval * capacity + Int(symbol)).pointee?.materialize()
  }

  /// Candles of `symbol` in `interval` seen closing so far (see ``KlineSeries/closes``).
  @inline(__always)
  public func closedCandles(_ symbol: Int32, interval: Int) -> Int {
    series[interval * capacity + Int(symbol)]?.closes ?? 0
  }

  /// Number of candles of `symbol` in `interval` (0 when none).
  @inline(__always)
  public func candleCount(_ symbol: Int32, interval: Int) -> Int {
    series[interval * capacity + Int(symbol)]?.count ?? 0
  }
}
