import ArgumentParser
import Engine
import Evaluation
import LuaKit
import EngineSettings

/// `engine check DIR`: compile every strategy, call each filter once on a synthetic symbol.
struct CheckCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "check",
    abstract: "Compile every strategy in DIR and call each filter once on a synthetic symbol.",
    discussion: """
      Prints `file:line: message` for each problem and exits 1 if there is any; on success \
      prints one summary line. Suitable as a pre-commit hook.
      """)

  @Argument(help: "Directory of strategy files (NAME.lua).")
  var directory: String

  // The root command declares --plugins too: share its group so the value reaches here.
  @OptionGroup var common: CommonOptions

  func run() throws {
    let settings = try Session.settings(overrides: common.overrides, configPath: common.config)
    let plugins = settings.plugins
    // The strategies with their params and settings from the config, environment and
    // command line, so a wrong override is reported too.
    let code = try Wiring.code(strategies: directory, settings: settings)
    let result = StrategyChecker.check(strategies: code.strategies, plugins: code.plugins)
    for p in result.problems { print(p) }
    if !result.problems.isEmpty {
      throw EngineFailure(
        message:
          "\(result.problems.count) problem\(result.problems.count == 1 ? "" : "s") in \(result.checked) strategies and plugins",
        code: 1)
    }
    print("\(result.checked) strategies and plugins OK (\(directory), \(plugins))")
  }
}
