// How the text of a setting, from any source, becomes a value: the parsers of the table.

import Foundation

/// Parses and validates the text of one setting and says what a valid value looks like.
///
/// Every source gives text (the command line, the environment, a YAML scalar), trimmed of
/// surrounding white space; a parser turns it into the field's value or rejects it. A parser
/// may read keys resolved before its own (`sim.symbols` is bounded by `max_symbols`).
package struct SettingParser<Value: Sendable>: Sendable {
  /// What a valid value looks like, given the keys resolved so far.
  package let expected: @Sendable (Settings) -> String
  /// The value `text` stands for, or nil when it is not valid.
  package let parse: @Sendable (String, Settings) -> Value?
  /// The text that parses back to `value`: how the documentation writes a default.
  package let format: @Sendable (Value) -> String

  package init(
    expected: @escaping @Sendable (Settings) -> String,
    parse: @escaping @Sendable (String, Settings) -> Value?,
    format: @escaping @Sendable (Value) -> String
  ) {
    self.expected = expected
    self.parse = parse
    self.format = format
  }

  /// A parser that depends on no other key.
  package init(
    expected: String, parse: @escaping @Sendable (String) -> Value?,
    format: @escaping @Sendable (Value) -> String
  ) {
    self.init(expected: { _ in expected }, parse: { text, _ in parse(text) }, format: format)
  }
}

extension SettingParser where Value == String {
  /// Any text that is not empty.
  package static func nonEmpty(_ expected: String) -> Self {
    Self(expected: expected, parse: { $0.isEmpty ? nil : $0 }, format: { $0 })
  }

  /// Any text, the empty one included.
  package static func text(_ expected: String) -> Self {
    Self(expected: expected, parse: { $0 }, format: { $0 })
  }

  /// One of `names`, exactly.
  package static func oneOf(_ names: [String]) -> Self {
    Self(
      expected: alternatives(names), parse: { names.contains($0) ? $0 : nil }, format: { $0 })
  }

  /// Letters and digits (ASCII), upper-cased: a Binance asset such as `USDT`.
  package static func asset(_ expected: String) -> Self {
    Self(
      expected: expected,
      parse: { $0.isEmpty || !$0.allSatisfy(isAlphanumeric) ? nil : $0.uppercased() },
      format: { $0 })
  }

  /// A URL with one of `schemes` (`ws://`) and something after it.
  package static func url(schemes: [String]) -> Self {
    Self(
      expected: "a URL starting with \(schemes.joined(separator: " or "))",
      parse: { hasScheme($0, schemes) ? $0 : nil }, format: { $0 })
  }
}

extension SettingParser where Value == String? {
  /// Any text; empty means nil.
  package static func optionalText(_ expected: String) -> Self {
    Self(expected: expected, parse: { .some($0.isEmpty ? nil : $0) }, format: { $0 ?? "" })
  }
}

extension SettingParser where Value == Int {
  /// An integer in `range`. Without `expected`, the error says "a positive integer",
  /// "a non-negative integer" or "an integer from A to B".
  package static func integer(in range: ClosedRange<Int>, expected: String? = nil) -> Self {
    let description =
      switch (range.lowerBound, range.upperBound) {
      case (1, Int.max): "a positive integer"
      case (0, Int.max): "a non-negative integer"
      case (let low, let high): "an integer from \(low) to \(high)"
      }
    return Self(
      expected: expected ?? description,
      parse: { Int($0).flatMap { range.contains($0) ? $0 : nil } },
      format: { String($0) })
  }

  /// An integer in a range that depends on keys resolved before this one.
  package static func integer(
    in range: @escaping @Sendable (Settings) -> ClosedRange<Int>,
    expected: @escaping @Sendable (Settings) -> String
  ) -> Self {
    Self(
      expected: expected,
      parse: { text, settings in Int(text).flatMap { range(settings).contains($0) ? $0 : nil } },
      format: { String($0) })
  }
}

extension SettingParser where Value == Int? {
  /// A TCP port, 0 included (any free port); empty means nil (no server).
  package static var port: Self {
    Self(
      expected: "a port number from 0 to 65535 (0: any free port), or empty",
      parse: { text -> Int?? in
        if text.isEmpty { return .some(nil) }
        guard let port = Int(text), (0...65535).contains(port) else { return nil }
        return .some(port)
      },
      format: { $0.map(String.init) ?? "" })
  }
}

extension SettingParser where Value == UInt64 {
  /// Any unsigned 64-bit integer.
  package static var unsigned: Self {
    Self(
      expected: "an integer from 0 to \(UInt64.max)", parse: { UInt64($0) },
      format: { String($0) })
  }
}

extension SettingParser where Value == Double {
  /// A number in `range` (so never NaN).
  package static func number(in range: ClosedRange<Double>) -> Self {
    Self(
      expected:
        "a number from \(formatNumber(range.lowerBound)) to \(formatNumber(range.upperBound))",
      parse: { Double($0).flatMap { range.contains($0) ? $0 : nil } }, format: formatNumber)
  }
}

extension SettingParser where Value == Double? {
  /// A positive, finite factor, or `max` (nil): as fast as possible.
  package static var speed: Self {
    Self(
      expected: "a positive number or \"max\"",
      parse: { text -> Double?? in
        if text == "max" { return .some(nil) }
        guard let speed = Double(text), speed.isFinite, speed > 0 else { return nil }
        return .some(speed)
      },
      format: { $0.map(formatNumber) ?? "max" })
  }
}

extension SettingParser where Value == Bool {
  /// `true`, `yes`, `on`, `1` or `false`, `no`, `off`, `0`, in any case.
  package static var bool: Self {
    Self(
      expected: "true or false",
      parse: { text in
        switch text.lowercased() {
        case "true", "yes", "on", "1": true
        case "false", "no", "off", "0": false
        default: nil
        }
      },
      format: { String($0) })
  }
}

extension SettingParser where Value == [String] {
  /// Comma-separated items, each trimmed, empty ones dropped; every item must pass `item`
  /// (which may rewrite it).
  package static func list(_ expected: String, item: @escaping @Sendable (String) -> String?)
    -> Self
  {
    Self(
      expected: expected,
      parse: { text in
        let items = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
          .filter { !$0.isEmpty }
        let parsed = items.compactMap(item)
        return parsed.count == items.count ? parsed : nil
      },
      format: { $0.joined(separator: ",") })
  }
}

extension SettingParser where Value: RawRepresentable<String> & CaseIterable {
  /// One of the cases' raw values, exactly.
  package static var choice: Self {
    Self(
      expected: alternatives(Value.allCases.map(\.rawValue)), parse: { Value(rawValue: $0) },
      format: { $0.rawValue })
  }
}

/// `"a" or "b"`, `"a", "b" or "c"`.
private func alternatives(_ names: [String]) -> String {
  let quoted = names.map { "\"\($0)\"" }
  guard let last = quoted.last, quoted.count > 1 else { return quoted.first ?? "" }
  return quoted.dropLast().joined(separator: ", ") + " or " + last
}

/// Whether `text` starts with one of `schemes` and has more after it.
package func hasScheme(_ text: String, _ schemes: [String]) -> Bool {
  schemes.contains { text.hasPrefix($0) && text.count > $0.count }
}

/// ASCII letters and digits only.
package func isAlphanumeric(_ character: Character) -> Bool {
  character.isASCII && (character.isLetter || character.isNumber)
}

/// A number as a config file writes it: `1` rather than `1.0`, `0.5`.
private func formatNumber(_ value: Double) -> String {
  value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
}
