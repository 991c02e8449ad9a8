import Foundation
import Testing
import Tracking

@testable import Engine
@testable import Evaluation

/// Escapes and abuses a hostile or careless strategy might try. Each runs beside the example
/// strategies on the same replay: it must be contained (an error for it, at worst), and the
/// well-behaved strategies must produce exactly the diffs they produce alone.
@Suite("Sandbox abuse is contained", .serialized)
struct SandboxAbuseTests {
  static let feed = ReplayFixtures.write(
    ReplayFixtures.simulatedLines(symbols: 40, steps: 12, seed: 21), name: "abuse")
  static let clean: String = {
    (try? ReplayFixtures.replay(feed, strategies: ReplayFixtures.strategies([:])).output) ?? ""
  }()

  static let abuses: [(String, String)] = [
    (
      "os_execute", "return { filter = function(s) os.execute('touch /tmp/pwned') return true end }"
    ),
    ("io_open", "return { filter = function(s) return io.open('/etc/passwd') ~= nil end }"),
    (
      "loadlib", "return { filter = function(s) return package.loadlib('libc.so.6', 'system') end }"
    ),
    ("registry", "return { filter = function(s) return debug.getregistry() ~= nil end }"),
    (
      "bytecode",
      #"return { filter = function(s) local f = assert(load("\27LuaT\0", "x", "b")) return f() end }"#
    ),
    (
      "dump",
      "return { filter = function(s) return load(string.dump(function() return 1 end)) end }"
    ),
    (
      "string_meta", "return { filter = function(s) getmetatable('').__index = {} return true end }"
    ),
    ("string_lib", "return { filter = function(s) string.format = nil return true end }"),
    ("rawset_view", "return { filter = function(s) rawset(s, 'price', -1) return true end }"),
    ("view_meta", "return { filter = function(s) setmetatable(s, nil) return true end }"),
    (
      "globals",
      "x = 1 return { filter = function(s) _G.ta = nil; momentum = true; return false end }"
    ),
    (
      "shared_ta",
      "return { filter = function(s) ta.rsi = function() return 0 end return true end }"
    ),
    ("endless", "return { filter = function(s) while true do end end }"),
    (
      "pcall_loop",
      "return { filter = function(s) while true do pcall(function() while true do end end) end end }"
    ),
    (
      "recursion",
      "local function f(n) return f(n + 1) + 1 end return { filter = function(s) return f(1) end }"
    ),
    ("memory_bomb", "return { filter = function(s) return #string.rep('x', 1e9) > 0 end }"),
    (
      "table_growth",
      "return { filter = function(s) local t = {} for i = 1, 1e8 do t[i] = i end return true end }"
    ),
    ("huge_info", "return { filter = function(s) return true, string.rep('y', 1e6) end }"),
    (
      "index_error",
      "return { filter = function(s) return setmetatable({}, { __index = function() error('boom') end }).x end }"
    ),
    (
      "gc_meta",
      "return { filter = function(s) setmetatable({}, { __gc = function() while true do end end }) return true end }"
    ),
    // Filters with no loop and no call run without the count hook: a metamethod that
    // loops must still be stopped by the budget.
    (
      "meta_lt",
      "local t = setmetatable({}, { __lt = function() while true do end end }) return { filter = function(s) return t < t end }"
    ),
    (
      "meta_index",
      "local t = setmetatable({}, { __index = function() while true do end end }) return { filter = function(s) return s.price > 0 and t.x end }"
    ),
    ("yield", "return { filter = function(s) return coroutine.yield(1) end }"),
    ("collect", "return { filter = function(s) collectgarbage('stop') return true end }"),
    ("chunk_loop", "while true do end return { filter = function() return true end }"),
  ]

  @Test("each abuse is contained and the other strategies' diffs are unchanged", arguments: abuses)
  func contained(name: String, source: String) throws {
    #expect(Self.clean.count > 100)
    let dir = ReplayFixtures.strategies(["zz_\(name)": source])
    let run = try ReplayFixtures.replay(Self.feed, strategies: dir) { $0.memoryMB = 32 }
    if name == "chunk_loop" {
      // A chunk that never returns is stopped by the budget and left out, named.
      #expect(
        run.log.contains { $0.contains("zz_chunk_loop.lua") && $0.contains("instruction budget") })
      #expect(run.output == Self.clean)
      return
    }
    let others = run.output.split(separator: "\n").filter { !$0.contains("\"strategy\":\"zz_") }
    #expect(others.joined(separator: "\n") + "\n" == Self.clean, "\(name)")
    let own = run.output.split(separator: "\n").filter { $0.contains("\"strategy\":\"zz_") }
    if name == "huge_info" {
      #expect(own.allSatisfy { $0.utf8.count < 600 })
    } else if name.hasPrefix("meta_") {
      #expect(run.log.contains { $0.contains("zz_\(name)") && $0.contains("instruction budget") })
    } else if name != "globals" {
      #expect(run.summary.filterErrors > 0, "\(name) should fail")
      #expect(run.log.contains { $0.contains("zz_\(name)") })
    }
    #expect(!FileManager.default.fileExists(atPath: "/tmp/pwned"))
  }

  /// A filter that calls only `ta` runs without the count hook while its environment's `ta`
  /// is the host's (`clua_filterclass` 2). Here another strategy's call replaces it, through
  /// a function the first strategy handed to a shared plugin: the check before each call must
  /// see it, so the replaced `ta` (a long loop) is stopped by the budget.
  @Test(
    "a ta-only filter whose ta was replaced behind its back is still stopped by the budget",
    .timeLimit(.minutes(2)))
  func taReplacedThroughAPlugin() throws {
    let hub = """
      local M, fns = {}, {}
      function M.register(f) fns[#fns + 1] = f end
      function M.run() for _, f in ipairs(fns) do f() end end
      return M
      """
    let plugins = ReplayFixtures.temporaryDirectory("hub-plugins")
    _ = FileManager.default.createFile(
      atPath: plugins.appendingPathComponent("hub.lua").path, contents: Data(hub.utf8))
    let a = """
      local hub = require("hub")
      -- 3 million instructions: past the budget (1 million), yet short enough that, run
      -- without the hook, the test fails on its expectations instead of hanging.
      hub.register(function() ta = { rsi = function() for i = 1, 3e6 do end end } end)
      return {
        timeframes = { "1m" },
        filter = function(s) return ta.rsi(s.klines["1m"].close, 3) ~= nil end,
      }
      """
    let b = """
      local hub = require("hub")
      local calls = 0
      return { filter = function(s) calls = calls + 1 if calls == 5 then hub.run() end return false end }
      """
    let runtime = try StrategyRuntime(
      store: MarketStore(maxSymbols: 8, maxCandles: 10), limits: SandboxLimits())
    try runtime.setPlugins([StrategySource(id: "hub", path: "hub.lua", source: hub)])
    let compiled = try runtime.compile(StrategySource(id: "zz_a", path: "zz_a.lua", source: a))
    #expect(compiled.callClass == 2 && compiled.envGuard != nil)
    let dir = ReplayFixtures.strategies(["zz_a": a, "zz_b": b], includeExamples: false)
    let run = try ReplayFixtures.replay(Self.feed, strategies: dir, plugins: plugins.path)
    #expect(run.summary.filterCalls > 0)
    #expect(run.log.contains { $0.contains("zz_a") && $0.contains("instruction budget") })
    #expect(!run.log.contains { $0.contains("zz_b") })
  }
}
