// The names on the bus: streams, subjects, headers, and the partition of a symbol. Every role
// derives them from here, so a change is made in one place.

import Foundation

/// The streams `engine bus init` creates and the subjects each holds.
public enum BusLayout {
  /// The bus's settings (partitions, lease time): one message, written by `bus init`.
  public static let configStream = "ENGINE_CONFIG"
  public static let configSubject = "config"
  /// Market data: one message per (partition, cycle), even empty, written by the ingest.
  public static let marketStream = "ENGINE_MKT"
  /// Strategy and plugin files the ingest publishes for hot reload, one message per version.
  public static let codeStream = "ENGINE_CODE"
  /// Shard results: one message per (partition, cycle).
  public static let diffStream = "ENGINE_DIFF"
  /// The merged diffs: one message per diff line, plus one marker per cycle.
  public static let outputStream = "ENGINE_OUT"
  /// Which process owns a partition: a lease that lapses unless its holder renews it.
  public static let leaseStream = "ENGINE_LEASE"

  public static func marketSubject(_ partition: Int) -> String { "mkt.\(partition)" }
  public static func diffSubject(_ partition: Int) -> String { "diff.\(partition)" }
  public static func leaseSubject(_ partition: Int) -> String { "lease.\(partition)" }
  public static func codeSubject(_ hash: String) -> String { "code.\(hash)" }
  /// A merged diff line: `out.<strategy>.<symbol>`, each escaped to one subject token.
  public static func outputSubject(strategy: String, symbol: String) -> String {
    "out.\(token(strategy)).\(token(symbol))"
  }
  /// The per-cycle marker: two tokens, so `out.*.*` (lines only) does not match it.
  public static let markerSubject = "out._c"

  /// The partition a subject of the form `prefix.<n>` names.
  static func partition(ofSubject subject: String) -> Int? {
    guard let dot = subject.lastIndex(of: ".") else { return nil }
    return Int(subject[subject.index(after: dot)...])
  }

  /// `name` as one subject token: bytes other than `A-Z a-z 0-9 _ -` become `=XX` (hex), so a
  /// strategy id with a dot (`my.strat`) does not add a level and `*`/`>` stay wildcards.
  public static func token(_ name: String) -> String {
    var out = ""
    for b in name.utf8 {
      switch b {
      case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
        out.unicodeScalars.append(Unicode.Scalar(b))
      default:
        out += "=" + String(b, radix: 16, uppercase: true).leftPadded(to: 2)
      }
    }
    return out.isEmpty ? "=" : out
  }

  /// The name ``token(_:)`` escaped (nil: not a token it makes).
  public static func name(ofToken token: String) -> String? {
    if token == "=" { return "" }
    var bytes: [UInt8] = []
    var i = token.utf8.startIndex
    let u = token.utf8
    while i < u.endIndex {
      if u[i] == UInt8(ascii: "=") {
        let a = u.index(after: i)
        guard a < u.endIndex, u.index(after: a) < u.endIndex else { return nil }
        let hex = String(decoding: u[a...u.index(after: a)], as: UTF8.self)
        guard let b = UInt8(hex, radix: 16) else { return nil }
        bytes.append(b)
        i = u.index(a, offsetBy: 2)
      } else {
        bytes.append(u[i])
        i = u.index(after: i)
      }
    }
    return String(bytes: bytes, encoding: .utf8)
  }

  /// The partition of `symbol`: FNV-1a (32 bits) of its bytes, modulo `partitions`. Part of
  /// the bus's format: every ingest must agree on it, so it never changes.
  public static func partition(of symbol: some StringProtocol, partitions: Int) -> Int {
    var h: UInt32 = 0x811c_9dc5
    for b in symbol.utf8 {
      h ^= UInt32(b)
      h = h &* 0x0100_0193
    }
    return Int(h % UInt32(max(partitions, 1)))
  }
}

/// Header names the roles write.
enum BusHeader {
  static let cycle = "Engine-Cycle"
  static let cycleMs = "Engine-Cycle-Ms"
  static let end = "Engine-End"
  static let code = "Engine-Code"
  static let writer = "Engine-Writer"
  static let lines = "Engine-Lines"
  /// A cycle's time as the diff lines print it (its end, in ms since the epoch).
  static let time = "Engine-Time"
}

extension String {
  fileprivate func leftPadded(to n: Int) -> String {
    count >= n ? self : String(repeating: "0", count: n - count) + self
  }
}
