import Evaluation

/// Signal hygiene for one strategy: when its filter's matches become printed enters.
///
/// - `confirm_s`: a symbol enters only once it has matched for that long (event time): the
///   enter is printed at the end of the first cycle closing at or after the end of the cycle
///   in which it started matching plus `confirm_s`, if it still matches then.
/// - `cooldown_s`: after an exit, the symbol cannot enter again until that long after the
///   exit's cycle end; if it still matches then, it enters at the end of the first cycle
///   closing at or after that time.
/// - Exits are immediate. A symbol not evaluated in a cycle keeps its last result, so its
///   timer runs on; a timer due in a quiet stretch fires at the first cycle that closes after.
///
/// All times are cycle ends, so a replay prints the same bytes whatever the workers and the
/// tracking mode. Owned by the cycle thread.
struct SignalGate {
  /// A symbol matching but not entered yet.
  struct Pending {
    var due: Int64
    /// Its latest evaluation's price and info (the enter line carries them).
    var price: Double
    var info: DiffInfo?
  }

  var confirmMs: Int64
  var cooldownMs: Int64
  /// Symbols printed as entered.
  private(set) var entered: Set<Int32> = []
  private(set) var pending: [Int32: Pending] = [:]
  private var lastExit: [Int32: Int64] = [:]

  init(confirmS: Double, cooldownS: Double) {
    confirmMs = Self.milliseconds(confirmS)
    cooldownMs = Self.milliseconds(cooldownS)
  }

  static func milliseconds(_ seconds: Double) -> Int64 {
    Int64(clamping: Int((seconds * 1000).rounded(.up).clamped(to: 0...1e15)))
  }

  /// The earliest time a pending symbol is due, if any.
  var nextDue: Int64? { pending.values.map(\.due).min() }

  /// The filter's result for `symbol` in the cycle ending at `now`: returns an exit to print
  /// now, if it was entered and no longer matches.
  mutating func result(
    symbol: Int32, matched: Bool, price: Double, info: DiffInfo?, now: Int64
  ) -> DiffRecord? {
    if matched {
      if entered.contains(symbol) { return nil }
      if pending[symbol] != nil {
        pending[symbol]?.price = price
        pending[symbol]?.info = info
        return nil
      }
      var due = now &+ confirmMs
      if let exit = lastExit[symbol] { due = max(due, exit &+ cooldownMs) }
      pending[symbol] = Pending(due: due, price: price, info: info)
      return nil
    }
    pending[symbol] = nil
    guard entered.remove(symbol) != nil else { return nil }
    lastExit[symbol] = now
    return DiffRecord(strategy: -1, symbol: symbol, isEnter: false, price: price, info: nil)
  }

  /// The pending symbols due at `now`: they enter (in no particular order; the caller sorts).
  mutating func fire(now: Int64) -> [DiffRecord] {
    var enters: [DiffRecord] = []
    for (symbol, p) in pending where p.due <= now {
      enters.append(
        DiffRecord(strategy: -1, symbol: symbol, isEnter: true, price: p.price, info: p.info))
    }
    for e in enters {
      pending[e.symbol] = nil
      entered.insert(e.symbol)
    }
    return enters
  }

  /// Clears every entered symbol (the strategy is removed or disabled); returns them.
  mutating func exitAll(now: Int64) -> [Int32] {
    let all = entered.sorted()
    for s in all { lastExit[s] = now }
    entered.removeAll()
    pending.removeAll()
    return all
  }
}

extension Double {
  fileprivate func clamped(to range: ClosedRange<Double>) -> Double {
    Swift.min(Swift.max(self, range.lowerBound), range.upperBound)
  }
}
