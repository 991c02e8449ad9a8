// Binance market-data WebSocket messages in, market events out: the public face of a
// hand-written, fully validating JSON scanner (JSONScanner.swift) and of what it takes from
// Binance's event objects (BinanceFields.swift).
//
// Why hand-written: Foundation's JSONDecoder and JSONSerialization build intermediate objects
// (dictionaries, boxed numbers, strings) for every field, which makes them several times slower
// on these messages, and no well-kept Swift library validates a message and extracts a handful
// of fields without first building a DOM. The scanner makes a single pass over the UTF-8 bytes,
// checks the whole message against RFC 8259 (structure, string escapes including \uXXXX
// surrogate pairs, UTF-8, number grammar, literals, trailing garbage), and captures only the
// fields the store needs.
//
// Allocations: on the usual path, only the growth of the caller's events array. Names become
// inline `EventName` bits and numbers are converted where they lie, so no String is made per
// event. Strings are made only off that path: for text with escapes, for a number that
// `Double(String)` has to convert, for a name longer than `EventName.inlineCapacity` bytes, and
// for error messages.
//
// Deviations from "any valid JSON": nesting deeper than 512 containers is rejected (the same
// limit as JSONSerialization), and so are unpaired UTF-16 surrogates in \u escapes.

import Tracking

public struct BinanceParseResult: Sendable {
  public var events: [MarketEvent]
  /// Items skipped: 1 for a line that is not valid JSON (or not an object/array at top level), or
  /// one per bad event object (inside an array, only the bad element is skipped).
  public var skipped: Int
  /// Event objects with an unknown or missing "e" type, counted and skipped (not errors).
  public var unknown: Int
  /// A one-line description of the first problem, e.g. `invalid JSON at byte 17` or
  /// `24hrTicker: field "c" is not a plain decimal ("12..5")` or `kline: missing field "k.t"`.
  public var firstError: String?

  init(events: [MarketEvent] = [], skipped: Int = 0, unknown: Int = 0, firstError: String? = nil) {
    self.events = events
    self.skipped = skipped
    self.unknown = unknown
    self.firstError = firstError
  }
}

/// Turns one Binance market-data message (raw, or in the combined-stream envelope
/// `{"stream": ..., "data": ...}`) into market events. See `BinanceParseResult` for the counts.
public struct BinanceParser: Sendable {
  public init() {}

  public func parse(_ bytes: UnsafeRawBufferPointer) -> BinanceParseResult {
    var events: [MarketEvent] = []
    var result = parse(bytes, appendingTo: &events)
    result.events = events
    return result
  }

  /// Like `parse(_:)`, but appends the events to `events` (the returned result's `events` is
  /// empty). The feeds' path: events go straight into the batch, with no array per message
  /// and no second copy of every event.
  func parse(_ bytes: UnsafeRawBufferPointer, appendingTo events: inout [MarketEvent])
    -> BinanceParseResult
  {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return BinanceParseResult() }
    var scanner = Scanner(p: base, n: bytes.count)
    let mark = events.count
    // Lend the caller's array to the scanner (a swap moves the buffer: no copy).
    swap(&scanner.events, &events)
    defer { swap(&scanner.events, &events) }
    do {
      try scanner.message()
    } catch {
      scanner.events.removeSubrange(mark...)
      return BinanceParseResult(skipped: 1, firstError: "invalid JSON at byte \(error.offset)")
    }
    if scanner.notContainer {
      return BinanceParseResult(
        skipped: 1, firstError: "top-level value is not an object or array")
    }
    return BinanceParseResult(
      skipped: scanner.skipped, unknown: scanner.unknown, firstError: scanner.firstError)
  }

  public func parse(_ line: String) -> BinanceParseResult {
    var line = line
    return line.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
  }
}
