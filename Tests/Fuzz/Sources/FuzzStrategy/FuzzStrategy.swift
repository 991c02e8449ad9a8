// libFuzzer harness for strategy source text on `engine check`'s path:
// `StrategyChecker.check(strategies:plugins:)` compiles the strategy in a fresh sandboxed Lua
// state (with the default limits `engine check` uses) and calls its filter once on a
// synthetic symbol.
//
// The input is the text of one strategy file. Lines `--@plugin NAME` split it: each part
// after one becomes plugin NAME (what `require("NAME")` loads), so the fuzzer can reach
// plugins too. Hangs are caught by libFuzzer's `-timeout`: every run of strategy code is
// bounded by the instruction budget and the memory cap, so none may take long.
// Every property below traps with a description, which libFuzzer reports as a crash.

import Engine

// The strategy sources and the sandbox limits may live in a module of their own below
// `Engine`; imported where it exists.
#if canImport(Evaluation)
  import Evaluation
#endif

#if canImport(Glibc)
  import Glibc
#endif

/// Longer than Lua's chunk-name limit (LUA_IDSIZE, 60), so messages go through the
/// restoring of shortened paths too.
let strategyPath =
  "/tmp/engine-fuzz/strategies/a_strategy_with_a_name_long_enough_to_be_shortened.lua"
let pluginDirectory = "/tmp/engine-fuzz/plugins"
/// `FUZZ_PRINT=1`: print each input's problems (to see what a corpus or a crash input does).
let printResults = getenv("FUZZ_PRINT") != nil

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
  let (strategy, plugins) = split(text)
  let source = StrategySource(id: "fuzzed", path: strategyPath, source: strategy)
  let result = StrategyChecker.check(strategies: [source], plugins: plugins)
  if printResults {
    print("checked \(result.checked), \(result.problems.count) problems")
    for p in result.problems { print("  \(p)") }
  }

  func violated(_ what: String) -> Never {
    fatalError("\(what): checked \(result.checked), problems \(result.problems)")
  }
  if result.checked != 1 + plugins.count { violated("wrong number of files checked") }
  // At most one problem per file: each plugin is run once, then the strategy.
  if result.problems.count > result.checked { violated("more problems than files") }
  let paths = [strategyPath] + plugins.map(\.path)
  for problem in result.problems where !isLocated(problem, in: paths) {
    violated("problem not in `file:line: message` or `file: message` form: \(problem)")
  }
  return 0
}

/// Whether `problem` is `PATH:LINE: message` or `PATH: message` for one of `paths`.
func isLocated(_ problem: String, in paths: [String]) -> Bool {
  for path in paths where problem.hasPrefix(path + ":") {
    let rest = problem.utf8.dropFirst(path.utf8.count + 1)
    let digits = rest.prefix { $0 >= 0x30 && $0 <= 0x39 }
    let afterDigits = rest.dropFirst(digits.count)
    if !digits.isEmpty && afterDigits.starts(with: ": ".utf8) && afterDigits.count > 2 {
      return true
    }
    if digits.isEmpty && rest.starts(with: " ".utf8) && rest.count > 1 { return true }
  }
  return false
}

/// The strategy text and the plugins after `--@plugin NAME` lines (NAME: letters, digits and
/// `_`; a repeated name keeps its last part).
func split(_ text: String) -> (String, [StrategySource]) {
  var parts: [(name: String, lines: [Substring])] = [("", [])]
  for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
    if line.hasPrefix("--@plugin ") {
      let name = line.dropFirst("--@plugin ".count).filter {
        $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_")
      }
      parts.append((name.isEmpty ? "p" : String(name), []))
    } else {
      parts[parts.count - 1].lines.append(line)
    }
  }
  var plugins: [String: StrategySource] = [:]
  for part in parts.dropFirst() {
    plugins[part.name] = StrategySource(
      id: part.name, path: "\(pluginDirectory)/\(part.name).lua",
      source: part.lines.joined(separator: "\n"))
  }
  return (
    parts[0].lines.joined(separator: "\n"),
    plugins.values.sorted { $0.id.utf8.lexicographicallyPrecedes($1.id.utf8) }
  )
}
