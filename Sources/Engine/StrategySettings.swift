import EngineSettings
import Evaluation

/// The `strategy.*` settings resolved against the strategy files: each strategy's
/// ``StrategyConfig`` (param overrides, `confirm_s`, `cooldown_s`, `trigger`) and the
/// instances (`strategy.<new id>.from: <file id>`: the same file again under a new id, with
/// settings of its own).
///
/// A key names its strategy and field: `strategy.<id>.<field>`, where `<field>` is `from`,
/// `confirm_s`, `cooldown_s`, `trigger` or `params.<name>` (an id may hold dots: the field
/// is read from the end). An environment variable gives only the upper-cased form
/// (`STRATEGY_<ID>_PARAMS_<NAME>`): its id is the strategy whose id upper-cases to it, and a
/// param name from it is taken in lower case. Values are checked against what each strategy
/// declares when it is compiled (``StrategyRuntime/compile(_:)``); what this step refuses
/// is a key for no strategy, an unknown field, or an instance of something that is no file.
public enum StrategySettings {
  /// One strategy's settings and, for an instance, the file it runs.
  struct Entry {
    var config = StrategyConfig()
    var from: StrategyConfig.Value?
  }

  /// The files of `code`, each with its settings, and the instances, sorted by id in byte
  /// order; `raw` is `Settings.sectionValues["strategy"]`.
  public static func apply(
    _ raw: [String: SettingsRawValue], to code: CodeSet
  ) throws(EngineError) -> CodeSet {
    guard !raw.isEmpty else { return code }
    let files = Dictionary(code.strategies.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    var entries: [String: Entry] = [:]
    // Instances first (`from` may come from any source), so an environment name can name one.
    var known = Set(files.keys)
    let ordered = raw.sorted { $0.key < $1.key }
    for (name, value) in ordered {
      if let (id, field) = try split(value, name: name, known: known), field == "from" {
        entries[id, default: Entry()].from = StrategyConfig.Value(value.text, source: value.origin)
        known.insert(id)
      }
    }
    for (name, value) in ordered {
      guard let (id, field) = try split(value, name: name, known: known) else {
        throw unknownStrategy(value, files: files.keys)
      }
      guard known.contains(id) else { throw unknownStrategy(value, files: files.keys) }
      let v = StrategyConfig.Value(value.text, source: value.origin)
      switch field {
      case "from": break
      case "confirm_s": entries[id, default: Entry()].config.confirmS = v
      case "cooldown_s": entries[id, default: Entry()].config.cooldownS = v
      case "trigger": entries[id, default: Entry()].config.trigger = v
      default:
        guard field.hasPrefix("params."), field.count > "params.".count else {
          throw EngineError(
            "\(value.origin): unknown setting '\(field)' of strategy \(id) (one of: from, "
              + "confirm_s, cooldown_s, trigger, params.NAME)", isConfiguration: true)
        }
        var name = String(field.dropFirst("params.".count))
        if value.key == nil { name = name.lowercased() }
        entries[id, default: Entry()].config.params[name] = v
      }
    }
    var strategies: [StrategySource] = []
    for file in code.strategies {
      var s = file
      if let entry = entries[file.id] {
        if let from = entry.from {
          throw EngineError(
            "\(from.source): \(file.id) is a strategy file; an instance needs an id of its own",
            isConfiguration: true)
        }
        s.config = entry.config
      }
      strategies.append(s)
    }
    for (id, entry) in entries where files[id] == nil {
      guard let from = entry.from else { continue }
      guard let file = files[from.text] else {
        throw EngineError(
          "\(from.source): no strategy file '\(from.text)' (files: "
            + files.keys.sorted().joined(separator: ", ") + ")", isConfiguration: true)
      }
      strategies.append(
        StrategySource(id: id, path: file.path, source: file.source, config: entry.config))
    }
    strategies.sort { $0.id.utf8.lexicographicallyPrecedes($1.id.utf8) }
    return CodeSet(strategies: strategies, plugins: code.plugins)
  }

  /// The strategy id and field a value names (`name`: its environment form), or nil when it
  /// names no strategy in `known` (an environment variable); a key path always splits.
  private static func split(_ value: SettingsRawValue, name: String, known: Set<String>)
    throws(EngineError) -> (id: String, field: String)?
  {
    if let key = value.key {
      let rest = key.dropFirst("strategy.".count)
      let parts = rest.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
      for fieldLength in [2, 1] where parts.count > fieldLength {
        let field = parts.suffix(fieldLength).joined(separator: ".")
        if (fieldLength == 2 && parts[parts.count - 2] == "params")
          || (fieldLength == 1 && fields.contains(field))
        {
          return (parts.dropLast(fieldLength).joined(separator: "."), field)
        }
      }
      throw EngineError(
        "\(value.origin): expected strategy.<id>.<field> with a field among from, confirm_s, "
          + "cooldown_s, trigger, params.NAME", isConfiguration: true)
    }
    // STRATEGY_<ID>_<FIELD>: the id whose environment form prefixes the rest.
    let head = "STRATEGY_"
    guard name.hasPrefix(head) else { return nil }
    let rest = name.dropFirst(head.count)
    let candidates = known.filter {
      rest.hasPrefix(Settings.environmentVariableName(forKey: $0) + "_")
    }
    // The longest id wins (`A_B` over `A` for `STRATEGY_A_B_TRIGGER`).
    guard
      let id = candidates.max(by: {
        Settings.environmentVariableName(forKey: $0).count
          < Settings.environmentVariableName(forKey: $1).count
      })
    else {
      // An instance named only by the environment: `STRATEGY_<ID>_FROM`.
      if rest.hasSuffix("_FROM"), rest.count > 5 {
        return (String(rest.dropLast(5)).lowercased(), "from")
      }
      return nil
    }
    let fieldText = rest.dropFirst(Settings.environmentVariableName(forKey: id).count + 1)
    let field: String
    if fieldText.hasPrefix("PARAMS_"), fieldText.count > 7 {
      field = "params." + fieldText.dropFirst(7)
    } else {
      field = fieldText.lowercased()
    }
    return (id, field)
  }

  private static let fields: Set<String> = ["from", "confirm_s", "cooldown_s", "trigger"]

  private static func unknownStrategy(
    _ value: SettingsRawValue, files: Dictionary<String, StrategySource>.Keys
  ) -> EngineError {
    EngineError(
      "\(value.origin): no strategy with this id (files: "
        + files.sorted().joined(separator: ", ") + "; an instance needs strategy.<id>.from)",
      isConfiguration: true)
  }
}
