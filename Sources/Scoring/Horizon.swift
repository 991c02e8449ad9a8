import Foundation

/// How far after a signal its outcome is read: a whole number of seconds, minutes, hours or
/// days, written the way the user wrote it (`5m`, `1h`, `90s`).
public struct Horizon: Sendable, Hashable, CustomStringConvertible {
  /// The text the user gave, used as the horizon's name in every output (`"5m"`).
  public let label: String
  /// The horizon's length in milliseconds of event time; always positive.
  public let milliseconds: Int64

  /// The horizons `engine score` reads when none are given.
  public static let defaultList = "1m,5m,15m,1h"

  /// Milliseconds per unit letter.
  private static let units: [Character: Int64] = [
    "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000,
  ]

  public init(label: String, milliseconds: Int64) {
    self.label = label
    self.milliseconds = milliseconds
  }

  /// One horizon, `NUMBER UNIT` with a whole positive number and a unit of `s`, `m`, `h` or
  /// `d` (`15m`, `1h`, `2d`).
  public init(parsing text: String) throws(HorizonError) {
    let unitLetter = text.last
    guard let unitLetter, let unit = Self.units[unitLetter] else {
      throw HorizonError(text: text, problem: "the unit must be s, m, h or d")
    }
    let digits = text.dropLast()
    guard !digits.isEmpty, digits.utf8.allSatisfy({ (48...57).contains($0) }) else {
      throw HorizonError(text: text, problem: "expected a whole number before the unit")
    }
    guard let count = Int64(digits) else {
      throw HorizonError(text: text, problem: "the number is too large")
    }
    guard count > 0 else { throw HorizonError(text: text, problem: "a horizon must be positive") }
    let (ms, overflow) = count.multipliedReportingOverflow(by: unit)
    guard !overflow else { throw HorizonError(text: text, problem: "the number is too large") }
    self.init(label: text, milliseconds: ms)
  }

  /// A comma-separated list (`1m,5m,15m,1h,1d`), shortest first. Blanks around items are
  /// ignored; an empty item, a bad one or two of the same length are errors.
  public static func parseList(_ text: String) throws(HorizonError) -> [Horizon] {
    let items = text.split(separator: ",", omittingEmptySubsequences: false).map {
      $0.trimmingCharacters(in: .whitespaces)
    }
    var horizons: [Horizon] = []
    for item in items {
      guard !item.isEmpty else {
        throw HorizonError(text: text, problem: "an empty horizon in the list")
      }
      let horizon = try Horizon(parsing: item)
      if let same = horizons.first(where: { $0.milliseconds == horizon.milliseconds }) {
        throw HorizonError(text: item, problem: "the same horizon as \"\(same.label)\"")
      }
      horizons.append(horizon)
    }
    return horizons.sorted { $0.milliseconds < $1.milliseconds }
  }

  public var description: String { label }
}

/// A horizon that could not be read, with the text and what is wrong with it.
public struct HorizonError: Error, Sendable, Equatable, CustomStringConvertible {
  public var text: String
  public var problem: String

  public init(text: String, problem: String) {
    self.text = text
    self.problem = problem
  }

  public var description: String {
    "horizon \"\(text)\": \(problem) (expected a list like 1m,5m,15m,1h,1d)"
  }
}
