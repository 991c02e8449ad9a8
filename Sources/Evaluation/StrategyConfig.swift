/// A strategy's settings from outside its file (the config file, the environment, the
/// command line): param overrides and the signal-hygiene fields. Each value keeps where it
/// came from, so an error names its source and key
/// (`config/engine.yaml: strategy.momentum.params.threshold: expected a number, got "x"`).
/// Part of a ``StrategySource``: a changed value is a changed strategy, reloaded like an
/// edited file.
public struct StrategyConfig: Sendable, Equatable {
  /// One value as given, and where: `"config/engine.yaml: strategy.x.confirm_s"`,
  /// `"command-line option --param x.period"`, `"environment STRATEGY_X_PARAMS_PERIOD"`.
  public struct Value: Sendable, Equatable {
    public var text: String
    public var source: String
    public init(_ text: String, source: String) {
      self.text = text
      self.source = source
    }
  }

  /// Param overrides by name.
  public var params: [String: Value]
  public var confirmS: Value?
  public var cooldownS: Value?
  public var trigger: Value?

  public init(
    params: [String: Value] = [:], confirmS: Value? = nil, cooldownS: Value? = nil,
    trigger: Value? = nil
  ) {
    self.params = params
    self.confirmS = confirmS
    self.cooldownS = cooldownS
    self.trigger = trigger
  }

  public var isEmpty: Bool {
    params.isEmpty && confirmS == nil && cooldownS == nil && trigger == nil
  }
}

/// A strategy param's value: what a strategy table may declare in `params`.
public enum ParamValue: Sendable, Equatable, CustomStringConvertible {
  case integer(Int64)
  case number(Double)
  case string(String)
  case boolean(Bool)

  /// The value `text` gives a param whose default is `like` (the same type: a number for a
  /// number, `true`/`false` for a boolean, any text for a string), or nil.
  public static func parse(_ text: String, like: ParamValue) -> ParamValue? {
    switch like {
    case .integer, .number:
      if let i = Int64(text) { return .integer(i) }
      if let x = Double(text), x.isFinite, !text.contains(where: { $0.isLetter }) {
        return .number(x)
      }
      return nil
    case .string: return .string(text)
    case .boolean:
      switch text.lowercased() {
      case "true": return .boolean(true)
      case "false": return .boolean(false)
      default: return nil
      }
    }
  }

  /// The type's name in error messages.
  public var typeName: String {
    switch self {
    case .integer, .number: "a number"
    case .string: "a string"
    case .boolean: "true or false"
    }
  }

  public var description: String {
    switch self {
    case .integer(let i): String(i)
    case .number(let x): String(x)
    case .string(let s): s
    case .boolean(let b): String(b)
    }
  }
}

/// When a strategy's filter runs for a symbol.
public enum StrategyTrigger: String, Sendable, Equatable {
  /// In every cycle the symbol's data changed (or every cycle, in `all` mode).
  case change
  /// Only in cycles where a candle of one of its timeframes closed for the symbol; its kline
  /// series then end at the last closed candle.
  case close
}
