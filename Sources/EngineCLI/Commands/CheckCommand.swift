import ArgumentParser
import Engine
import Evaluation
import LuaKit

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
    let result: (checked: Int, problems: [String])
    do {
      result = try StrategyChecker.check(directory: directory, plugins: plugins)
    } catch {
      throw EngineFailure(message: error.description, code: 2)
    }
    for p in result.problems { print(p) }
    if !result.problems.isEmpty {
      throw EngineFailure(
        message:
          "\(result.problems.count) problem\(result.problems.count == 1 ? "" : "s") in \(result.checked) strategies",
        code: 1)
    }
    print("\(result.checked) strategies and plugins OK (\(directory), \(plugins))")
  }
}
