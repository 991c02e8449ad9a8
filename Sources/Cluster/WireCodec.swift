// The bodies of bus messages: market events (ingest → shards) and resolved diffs (shards →
// merger) in a little-endian binary form of their own. Every field is written, doubles as
// their bit patterns, so a shard applies exactly the events the single process would have
// parsed and the merger prints exactly the diffs a shard found.

import Engine
import Evaluation
import Foundation
import Tracking

/// Appends and reads the primitive fields of a body.
struct WireWriter {
  var bytes: [UInt8] = []

  mutating func u8(_ v: UInt8) { bytes.append(v) }
  mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
  mutating func i64(_ v: Int64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
  mutating func f64(_ v: Double) { i64(Int64(bitPattern: v.bitPattern)) }
  mutating func string(_ s: String) {
    let u = Array(s.utf8)
    u32(UInt32(u.count))
    bytes += u
  }
}

/// A body that does not decode (a foreign or truncated message).
public struct WireError: Error, CustomStringConvertible, Sendable {
  public var description: String
}

struct WireReader {
  let bytes: [UInt8]
  var at = 0
  let what: String

  init(_ bytes: [UInt8], what: String) {
    self.bytes = bytes
    self.what = what
  }

  var atEnd: Bool { at == bytes.count }

  private mutating func take(_ n: Int) throws(WireError) -> ArraySlice<UInt8> {
    guard n >= 0, at + n <= bytes.count else {
      throw WireError(description: "\(what): truncated body at byte \(at)")
    }
    defer { at += n }
    return bytes[at..<at + n]
  }

  mutating func u8() throws(WireError) -> UInt8 { try take(1).first ?? 0 }

  mutating func u32() throws(WireError) -> UInt32 {
    var v: UInt32 = 0
    for (i, b) in try take(4).enumerated() { v |= UInt32(b) << (8 * UInt32(i)) }
    return v
  }

  mutating func i64() throws(WireError) -> Int64 {
    var v: UInt64 = 0
    for (i, b) in try take(8).enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
    return Int64(bitPattern: v)
  }

  mutating func f64() throws(WireError) -> Double {
    Double(bitPattern: UInt64(bitPattern: try i64()))
  }

  mutating func string() throws(WireError) -> String {
    let n = Int(try u32())
    return String(decoding: try take(n), as: UTF8.self)
  }
}

/// Market events as a bus body: a version byte, then per event a kind byte and its fields.
public enum EventCodec {
  static let version: UInt8 = 1

  public static func encode(_ events: [MarketEvent]) -> [UInt8] {
    var w = WireWriter()
    w.u8(version)
    for e in events {
      switch e {
      case .ticker(let t):
        w.u8(t.isMini ? 2 : 1)
        w.string(t.symbol)
        w.i64(t.eventTime)
        let f = t.fields
        for v in [
          f.price, f.open, f.high, f.low, f.volume, f.quoteVolume, f.change, f.changePct, f.vwap,
          f.bid, f.ask,
        ] {
          w.f64(v)
        }
      case .kline(let k):
        w.u8(k.isClosed ? 4 : 3)
        w.string(k.symbol)
        w.i64(k.eventTime)
        w.string(k.interval)
        w.i64(k.openTime)
        for v in [k.open, k.high, k.low, k.close, k.volume] { w.f64(v) }
      }
    }
    return w.bytes
  }

  public static func decode(_ bytes: [UInt8]) throws(WireError) -> [MarketEvent] {
    guard !bytes.isEmpty else { return [] }
    var r = WireReader(bytes, what: "market events")
    let v = try r.u8()
    guard v == version else {
      throw WireError(description: "market events: body version \(v), this engine reads \(version)")
    }
    var events: [MarketEvent] = []
    while !r.atEnd {
      let kind = try r.u8()
      switch kind {
      case 1, 2:
        let symbol = try r.string()
        let time = try r.i64()
        var f = TickerFields()
        f.price = try r.f64()
        f.open = try r.f64()
        f.high = try r.f64()
        f.low = try r.f64()
        f.volume = try r.f64()
        f.quoteVolume = try r.f64()
        f.change = try r.f64()
        f.changePct = try r.f64()
        f.vwap = try r.f64()
        f.bid = try r.f64()
        f.ask = try r.f64()
        events.append(
          .ticker(TickerEvent(symbol: symbol, eventTime: time, isMini: kind == 2, fields: f)))
      case 3, 4:
        let symbol = try r.string()
        let time = try r.i64()
        let interval = try r.string()
        let openTime = try r.i64()
        let o = try r.f64()
        let h = try r.f64()
        let l = try r.f64()
        let c = try r.f64()
        let vol = try r.f64()
        events.append(
          .kline(
            KlineEvent(
              symbol: symbol, eventTime: time, interval: interval, openTime: openTime, open: o,
              high: h, low: l, close: c, volume: vol, isClosed: kind == 4)))
      default:
        throw WireError(description: "market events: unknown event kind \(kind)")
      }
    }
    return events
  }
}

/// A shard's diffs of one (partition, cycle) as a bus body.
public enum DiffCodec {
  static let version: UInt8 = 1

  public static func encode(_ diffs: [ResolvedDiff]) -> [UInt8] {
    var w = WireWriter()
    w.u8(version)
    for d in diffs {
      w.string(d.strategy)
      w.string(d.symbol)
      w.u8(d.isEnter ? 1 : 0)
      w.f64(d.price)
      switch d.info {
      case nil: w.u8(0)
      case .integer(let i):
        w.u8(1)
        w.i64(i)
      case .number(let x):
        w.u8(2)
        w.f64(x)
      case .string(let s):
        w.u8(3)
        w.string(s)
      }
    }
    return w.bytes
  }

  public static func decode(_ bytes: [UInt8]) throws(WireError) -> [ResolvedDiff] {
    guard !bytes.isEmpty else { return [] }
    var r = WireReader(bytes, what: "diffs")
    let v = try r.u8()
    guard v == version else {
      throw WireError(description: "diffs: body version \(v), this engine reads \(version)")
    }
    var diffs: [ResolvedDiff] = []
    while !r.atEnd {
      let strategy = try r.string()
      let symbol = try r.string()
      let isEnter = try r.u8() == 1
      let price = try r.f64()
      let info: DiffInfo?
      switch try r.u8() {
      case 0: info = nil
      case 1: info = .integer(try r.i64())
      case 2: info = .number(try r.f64())
      case 3: info = .string(try r.string())
      case let k: throw WireError(description: "diffs: unknown info kind \(k)")
      }
      diffs.append(
        ResolvedDiff(strategy: strategy, symbol: symbol, isEnter: isEnter, price: price, info: info)
      )
    }
    return diffs
  }
}

/// Strategy and plugin files as a bus body (hot reload through the bus), and the hash that
/// names a version.
public enum CodeCodec {
  public static func encode(_ code: CodeSet) -> [UInt8] {
    var w = WireWriter()
    w.u8(1)
    for (kind, files) in [(UInt8(1), code.strategies), (UInt8(2), code.plugins)] {
      for f in files {
        w.u8(kind)
        w.string(f.id)
        w.string(f.path)
        w.string(f.source)
      }
    }
    return w.bytes
  }

  public static func decode(_ bytes: [UInt8]) throws(WireError) -> CodeSet {
    var r = WireReader(bytes, what: "strategy files")
    guard try r.u8() == 1 else { throw WireError(description: "strategy files: unknown version") }
    var code = CodeSet(strategies: [])
    while !r.atEnd {
      let kind = try r.u8()
      let file = StrategySource(id: try r.string(), path: try r.string(), source: try r.string())
      if kind == 1 { code.strategies.append(file) } else { code.plugins.append(file) }
    }
    return code
  }

  /// A name for the files' contents (ids and sources, not paths): FNV-1a 64 in hex. It only
  /// tells versions apart; it does not need to resist a forger, who could write the stream.
  public static func hash(_ code: CodeSet) -> String {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    func mix(_ s: String) {
      for b in s.utf8 {
        h ^= UInt64(b)
        h = h &* 0x0000_0100_0000_01b3
      }
      h ^= 0xff
      h = h &* 0x0000_0100_0000_01b3
    }
    for f in code.strategies {
      mix("s")
      mix(f.id)
      mix(f.source)
    }
    for f in code.plugins {
      mix("p")
      mix(f.id)
      mix(f.source)
    }
    let hex = String(h, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
  }
}
