import Foundation

/// The rolling 24 hours of one symbol's candles, from which a *derived* `24hrTicker` message
/// is written after each candle: what Binance's ticker would have said, computed from the
/// candles alone. It is not Binance's ticker: there is no bid or ask, no trade ids, and the
/// window moves a candle at a time rather than continuously.
///
/// Fields: `o` the open of the window's first candle, `h`/`l` the highest high and lowest
/// low, `c` the newest close, `v`/`q` the summed base and quote volumes, `p` = c − o,
/// `P` = 100 × p / o, `w` = q / v (the close when v is 0), `n` the summed trade counts,
/// `O`/`C` the window's first open time and newest close time.
///
/// Cost per candle is O(1) amortized: the volume sums are kept running (and re-added from the
/// window once per window length, so rounding cannot build up), the high and the low come
/// from monotonic queues.
struct TickerWindow {
  struct Candle {
    var openTime: Int64
    var closeTime: Int64
    var open: String
    var close: String
    var high: Double
    var highText: String
    var low: Double
    var lowText: String
    var volume: Double
    var quoteVolume: Double
    var trades: Int64
  }

  /// The window's length: a candle stays while its open time is after newest open − span.
  let span: Int64
  /// `candles[head...]` is the window; earlier entries wait for compaction. Sequence number
  /// `base + i` names `candles[i]` for the queues.
  private var candles: [Candle] = []
  private var head = 0
  private var base = 0
  /// Sequence numbers of candles with decreasing highs (front: the window's highest) and
  /// increasing lows (front: the lowest).
  private var highs = Queue()
  private var lows = Queue()
  private var volume = 0.0
  private var quoteVolume = 0.0
  private var trades: Int64 = 0
  private var addsSinceResum = 0

  init(span: Int64 = 86_400_000) { self.span = span }

  var isEmpty: Bool { head == candles.count }

  /// Adds the newest candle (open times must increase) and drops those older than the span.
  mutating func add(_ candle: Candle) {
    let seq = base + candles.count
    candles.append(candle)
    while let back = highs.back, self[back].high <= candle.high { highs.popBack() }
    highs.push(seq)
    while let back = lows.back, self[back].low >= candle.low { lows.popBack() }
    lows.push(seq)
    volume += candle.volume
    quoteVolume += candle.quoteVolume
    trades += candle.trades
    while head < candles.count - 1, candles[head].openTime <= candle.openTime - span {
      let gone = candles[head]
      volume -= gone.volume
      quoteVolume -= gone.quoteVolume
      trades -= gone.trades
      if highs.front == base + head { highs.popFront() }
      if lows.front == base + head { lows.popFront() }
      head += 1
    }
    addsSinceResum += 1
    if addsSinceResum >= max(1, candles.count - head) { resum() }
    if head > 4096, head * 2 > candles.count { compact() }
  }

  private subscript(seq: Int) -> Candle { candles[seq - base] }

  private mutating func resum() {
    volume = 0
    quoteVolume = 0
    for c in candles[head...] {
      volume += c.volume
      quoteVolume += c.quoteVolume
    }
    addsSinceResum = 0
  }

  private mutating func compact() {
    candles.removeFirst(head)
    base += head
    head = 0
  }

  /// The derived ticker message at event time `eventTime`; nil for an empty window.
  func message(symbol: String, eventTime: Int64) -> String? {
    guard !isEmpty, let first = candles[head...].first, let last = candles.last,
      let high = highs.front, let low = lows.front
    else { return nil }
    let open = Double(first.open) ?? 0
    let close = Double(last.close) ?? 0
    let change = close - open
    let changePct = open != 0 ? 100 * change / open : 0
    let vwap = volume > 0 ? quoteVolume / volume : close
    let s = jsonString(symbol)
    return
      #"{"e":"24hrTicker","E":\#(eventTime),"s":\#(s),"p":"\#(plainDecimal(change, 8))","#
      + #""P":"\#(plainDecimal(changePct, 3))","w":"\#(plainDecimal(vwap, 8))","#
      + #""c":\#(jsonString(last.close)),"o":\#(jsonString(first.open)),"#
      + #""h":\#(jsonString(self[high].highText)),"l":\#(jsonString(self[low].lowText)),"#
      + #""v":"\#(plainDecimal(volume, 8))","q":"\#(plainDecimal(quoteVolume, 8))","#
      + #""O":\#(first.openTime),"C":\#(last.closeTime),"n":\#(trades)}"#
  }

  /// A queue of sequence numbers with pops at both ends (the front advances by index).
  struct Queue {
    private var items: [Int] = []
    private var start = 0
    var front: Int? { start < items.count ? items[start] : nil }
    var back: Int? { start < items.count ? items[items.count - 1] : nil }
    mutating func push(_ x: Int) { items.append(x) }
    mutating func popBack() { items.removeLast() }
    mutating func popFront() {
      start += 1
      if start > 1024, start * 2 > items.count {
        items.removeFirst(start)
        start = 0
      }
    }
  }
}

/// `value` as a plain decimal with at most `decimals` digits after the point, trailing zeros
/// dropped (`1.5`, `-0.25`, `0`): the only number form the feed's parser accepts (no
/// exponent, no `nan`). A value that is not finite is written `0`.
func plainDecimal(_ value: Double, _ decimals: Int) -> String {
  guard value.isFinite else { return "0" }
  var text = String(format: "%.\(decimals)f", value)
  if text.contains(".") {
    while text.last == "0" { text.removeLast() }
    if text.last == "." { text.removeLast() }
  }
  if text == "-0" { text = "0" }
  return text
}
