// libFuzzer harness for `BinanceParser`: the bytes of one WebSocket message or replay file.
//
// The input is parsed whole (one message, as a WebSocket frame arrives) and line by line (as
// `ReplayFeed` reads a recording: CR/LF stripped, blank lines skipped). Each parse runs on its
// own exactly sized heap copy, so AddressSanitizer flags any read past the message's end.
// Every property below traps with a description, which libFuzzer reports as a crash.

import Feeds
import Tracking

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let input = UnsafeBufferPointer(start: data, count: size)
  check(input)
  var start = 0
  while start < size {
    var end = start
    while end < size && input[end] != 0x0A { end += 1 }
    var length = end - start
    while length > 0 && (input[start + length - 1] == 0x0D || input[start + length - 1] == 0x0A) {
      length -= 1
    }
    let line = UnsafeBufferPointer(rebasing: input[start..<start + length])
    if !line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { check(line) }
    start = end + 1
  }
  return 0
}

/// The smallest event object the parser can accept is a mini ticker with one-byte values,
/// `{"e":"24hrMiniTicker","E":1,"s":"X","c":1}`: 42 bytes.
let minEventBytes = 42

/// Parses `message` twice from a fresh copy of exactly its size and checks the results.
func check(_ message: UnsafeBufferPointer<UInt8>) {
  let n = message.count
  let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: n, alignment: 1)
  defer { copy.deallocate() }
  if n > 0 { copy.copyMemory(from: UnsafeRawBufferPointer(message)) }
  let parser = BinanceParser()
  let first = parser.parse(UnsafeRawBufferPointer(copy))
  let second = parser.parse(UnsafeRawBufferPointer(copy))

  func violated(_ what: String) -> Never {
    fatalError(
      "\(what): \(n) bytes -> \(first.events.count) events, skipped \(first.skipped), "
        + "unknown \(first.unknown), firstError \(first.firstError ?? "nil")")
  }

  // Deterministic: the same bytes give the same result.
  if first.events != second.events || first.skipped != second.skipped
    || first.unknown != second.unknown || first.firstError != second.firstError
  {
    violated("two parses of the same bytes differ")
  }
  // Counts.
  if first.skipped < 0 || first.unknown < 0 { violated("negative count") }
  // Every counted item (event, skip, unknown object) is a JSON value of at least one byte
  // plus a separator or bracket; an event is at least a minimal event object.
  let items = first.events.count + first.skipped + first.unknown
  if items > (n + 1) / 2 { violated("more items than the input could hold") }
  if first.events.count * minEventBytes > n { violated("more events than the input could hold") }
  // A skip always comes with its description, and a description only with a skip.
  if (first.skipped > 0) != (first.firstError != nil) {
    violated("skipped count and firstError disagree")
  }
  // Each line yields an event or a counted item: with no `[` (so no empty event array, the
  // only valid message that holds no event), a non-blank message counts at least one.
  let blank = message.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
  if !blank && items == 0 && !message.contains(0x5B) {
    violated("a non-blank message produced nothing and counted nothing")
  }
  if blank && items != 0 { violated("a blank message produced something") }
  // A syntax error points inside the message.
  if let e = first.firstError, e.hasPrefix("invalid JSON at byte ") {
    guard let offset = Int(e.dropFirst("invalid JSON at byte ".count)), offset >= 0, offset <= n
    else { violated("syntax error offset outside the message") }
    if first.skipped != 1 || !first.events.isEmpty || first.unknown != 0 {
      violated("a syntax error kept other results")
    }
  }
  // Events carry what the store needs: a non-empty symbol (and interval), a finite value in
  // every required number, and in optional ones a finite value or NaN (never sent).
  for event in first.events {
    switch event {
    case .ticker(let t):
      if t.symbolName.utf8Count == 0 { violated("ticker with an empty symbol") }
      let f = t.fields
      if !f.price.isFinite { violated("ticker price \(f.price) is not finite") }
      for (name, v) in [
        ("open", f.open), ("high", f.high), ("low", f.low), ("volume", f.volume),
        ("quoteVolume", f.quoteVolume), ("change", f.change), ("changePct", f.changePct),
        ("vwap", f.vwap), ("bid", f.bid), ("ask", f.ask),
      ] where v.isInfinite {
        violated("ticker \(name) is \(v)")
      }
      if t.isMini && !(f.change.isNaN && f.changePct.isNaN && f.vwap.isNaN && f.bid.isNaN) {
        violated("mini ticker with full-ticker fields")
      }
    case .kline(let k):
      if k.symbolName.utf8Count == 0 { violated("kline with an empty symbol") }
      if k.intervalName.utf8Count == 0 { violated("kline with an empty interval") }
      for (name, v) in [
        ("open", k.open), ("high", k.high), ("low", k.low), ("close", k.close),
        ("volume", k.volume),
      ] where !v.isFinite {
        violated("kline \(name) is \(v)")
      }
    }
  }
}
