import CLua
import CLuaHost
import Testing

#if canImport(Glibc)
  import Glibc
#endif

@testable import LuaKit

/// Every C function a strategy can reach either charges its work to the call's budget or is
/// bounded by the memory cap: a careless or hostile call ends with an error in bounded time,
/// and the state keeps working.
@Suite("Library calls are bounded", .timeLimit(.minutes(2)))
struct BoundedLibraryTests {
  /// Chunks that would run for minutes (or forever) inside C with Lua's own library.
  static let hostile: [(String, String)] = [
    ("find", #"string.find(string.rep("a", 4000), ".-.-.-.-b")"#),
    ("match", #"string.match(string.rep("a", 4000), ".-.-.-.-b")"#),
    ("gmatch", #"for _ in string.gmatch(string.rep("a", 4000), ".-.-.-.-b") do end"#),
    ("gsub", #"string.gsub(string.rep("a", 4000), ".-.-.-.-b", "")"#),
    ("method", #"local s = ("a"):rep(4000) s:find(".-.-.-.-b")"#),
    ("find_in_loop", #"local s = ("ab"):rep(2000) for i = 1, 1e6 do s:find("(a-b)-$") end"#),
    ("plain_find", #"string.find(string.rep("a", 1e6), string.rep("a", 1000) .. "b", 1, true)"#),
    ("rep_empty", #"string.rep("", 1e15)"#),
    ("rep_large", #"string.rep("x", 1e7, "")"#),
    ("upper_loop", #"local s = string.rep("x", 1e6) for i = 1, 1e6 do s:upper() end"#),
    ("byte_loop", #"local s = string.rep("x", 1e5) for i = 1, 1e6 do s:byte(1, -1) end"#),
    (
      "format_loop",
      #"local f = string.rep("%d", 1e4) for i = 1, 1e6 do pcall(string.format, f) end"#
    ),
    (
      "concat_meta",
      #"table.concat(setmetatable({}, { __index = table.concat }), "", 1, 1e15)"#
    ),
    (
      "insert_len",
      #"table.insert(setmetatable({}, { __len = function() return math.maxinteger - 1 end }), 1, 0)"#
    ),
    (
      "remove_len",
      #"table.remove(setmetatable({}, { __len = function() return 1 << 62 end }), 1)"#
    ),
    ("move_range", #"table.move({}, 1, 1 << 62, 2)"#),
    ("unpack_loop", #"for i = 1, 1e6 do table.unpack({}, 1, 5e5) end"#),
    (
      "sort_large",
      #"local t = {} for i = 1, 2e5 do t[i] = (i * 7919) % 100003 end table.sort(t) table.sort(t, function(a, b) return a > b end)"#
    ),
    (
      "sort_meta",
      #"table.sort(setmetatable({}, { __len = function() return (1 << 31) - 2 end, __index = rawlen, __newindex = rawlen }))"#
    ),
    (
      "utf8_loop",
      #"local s = string.rep("\u{1F600}", 1e5) for i = 1, 1e6 do utf8.len(s) utf8.codepoint(s, 1, -1) end"#
    ),
    (
      "load_reader",
      #"load(function() return string.rep(" ", 1e6) end)"#
    ),
    ("load_loop", #"local s = string.rep(" ", 1e6) for i = 1, 1e6 do load(s) end"#),
    ("tonumber_loop", #"local s = string.rep("1", 1e6) for i = 1, 1e6 do tonumber(s) end"#),
    (
      "tostring_meta",
      #"tostring(setmetatable({}, { __tostring = function() while true do end end }))"#
    ),
    (
      "format_meta",
      #"string.format("%s", setmetatable({}, { __tostring = function() while true do end end }))"#
    ),
    (
      "error_object",
      #"error(setmetatable({}, { __tostring = function() while true do end end }))"#
    ),
    ("concat_op", #"local s = string.rep("x", 1e6) for i = 1, 1e6 do local t = s .. i end"#),
    ("memory", #"local t = {} for i = 1, 1e9 do t[i] = string.rep("x", 1e5) .. i end"#),
  ]

  @Test("a hostile call ends with an error and the state keeps working", arguments: hostile)
  func bounded(name: String, chunk: String) throws {
    let s = try SandboxedState(memoryLimit: 64 << 20)
    s.instructionBudget = 1_000_000
    let result = run(chunk, in: s, id: name)
    guard case .failure(let error) = result else {
      Issue.record("\(name): expected an error, got \(result)")
      return
    }
    let bounded = [
      "instruction budget exceeded", "not enough memory", "error in error handling",
      "too many results", "C stack overflow",
    ]
    #expect(bounded.contains { error.message.contains($0) }, "\(name): \(error.message)")
    #expect(try run("return ('alive'):upper()", in: s).get() == "ALIVE")
  }

  @Test("without a budget the bounded functions answer as Lua's own")
  func unbudgeted() throws {
    let s = try SandboxedState()
    let cases: [(String, String)] = [
      (#"return string.rep("ab", 3, "-")"#, "ab-ab-ab"),
      (##"return select("#", string.byte("hello", 1, -1))"##, "5"),
      (#"return string.format("%5.2f|%s", 3.14159, "x")"#, " 3.14|x"),
      (#"return utf8.len("h\u{E9}llo")"#, "5"),
      (#"return table.concat({1, 2, 3}, ",")"#, "1,2,3"),
      (#"local t = {3, 1, 2} table.sort(t) return table.concat(t)"#, "123"),
      (#"return tonumber("0x10")"#, "16"),
      (#"return (string.gsub("hello world", "o", "0"))"#, "hell0 w0rld"),
    ]
    for (source, expected) in cases {
      #expect(try run(source, in: s).get() == expected, "\(source)")
    }
  }
}

/// A strategy's returned table is the strategy's own: reading it (its `timeframes` through
/// `__index`) runs under the same limits as the chunk.
@Suite("Strategy tables are read within the limits", .timeLimit(.minutes(1)))
struct StrategyTableLimitsTests {
  @Test(
    "a strategy table whose metamethods loop or grow is stopped",
    arguments: [
      "return { timeframes = setmetatable({}, { __index = function(t, i) while true do end end }), filter = function(s) return true end }",
      "return { timeframes = setmetatable({}, { __index = function(t, i) return '1m' end }), filter = function(s) return true end }",
    ])
  func validatorIsBounded(source: String) throws {
    let s = try SandboxedState(memoryLimit: 16 << 20)
    s.instructionBudget = 1_000_000
    try s.runChunk(source, path: "Strategies/t.lua", id: "t")
    let L = s.lua.L
    // What the engine does with the table: iterate `timeframes` with ipairs.
    try s.lua.load(
      "return function(t) local n = 0 for _ in ipairs(t.timeframes) do n = n + 1 end return n end",
      chunkName: "=reader")
    try s.lua.protectedCall(arguments: 0, results: 1)
    lua_rotate(L, -2, 1)
    var stopped: LuaError?
    do { try s.callWithinLimits(arguments: 1, results: 1) } catch { stopped = error }
    #expect(stopped != nil)
    #expect(try run("return 'alive'", in: s).get() == "alive")
  }

  @Test("setmetatable on a protected table names the strategy's line")
  func protectedMetatableLine() {
    guard
      case .failure(let e) = run(
        "local t = setmetatable({}, { __metatable = false })\nsetmetatable(t, {})", id: "p")
    else {
      Issue.record("expected an error")
      return
    }
    #expect(e.message.contains("Strategies/p.lua:2:"), "\(e.message)")
  }
}

/// The layout facts are checked once per state; a state told to use the API only answers "no"
/// to every shortcut's setup.
@Suite("Lua layout facts")
struct LayoutFactsTests {
  @Test("the facts hold for this Lua build, and a state can be told not to rely on them")
  func facts() throws {
    let state = try LuaState()
    var failed: UnsafePointer<CChar>? = nil
    #expect(clua_layout_check(state.L, &failed) == 1, "\(failed.map { String(cString: $0) } ?? "")")
    #expect(clua_udatalayout(state.L) == 1)
    let api = try LuaState()
    api.budget.pointee.layout = -1
    #expect(clua_udatalayout(api.L) == 0)
    lua_createtable(api.L, 0, 13)
    var fill = clua_FillState()
    let fieldNames: [String] = [
      "price", "open", "high", "low", "volume", "quote_volume", "change", "change_pct", "vwap",
      "bid", "ask", "time", "symbol",
    ]
    let names: [UnsafeMutablePointer<CChar>] = fieldNames.compactMap { strdup($0) }
    defer { for n in names { free(n) } }
    for n in names {
      lua_pushboolean(api.L, 0)
      lua_setfield(api.L, -2, n)
    }
    let pointers: [UnsafePointer<CChar>?] = names.map { UnsafePointer($0) }
    let setup = pointers.withUnsafeBufferPointer {
      clua_directfill_setup(api.L, &fill, -1, $0.baseAddress)
    }
    #expect(setup == 0)
  }
}

/// A search that ran out of units is remembered, and an identical one started with no more
/// units fails at once: the outcome of every call must still be the one a fresh state gives.
@Suite("Searches that ran out of units", .timeLimit(.minutes(2)))
struct TrippedSearchTests {
  /// A call of each pattern function whose matching work grows with `n`, returning what it
  /// found (or nothing) as a string.
  static func chunk(_ function: Int, n: Int, start: Int) -> String {
    let subject = "string.rep('a', \(n)) .. 'x'"
    switch function {
    case 0: return "return tostring(string.find(\(subject), '.-.-b', \(start)))"
    case 1: return "return tostring(string.match(\(subject), '(.-)(.-)b', \(start)))"
    case 2:
      return
        "local k = 0 for a in string.gmatch(\(subject), '.-.-b', \(start)) do k = k + 1 end return tostring(k)"
    default: return "return tostring(select(2, string.gsub(\(subject), '.-.-b', '%0')))"
    }
  }

  static func outcome(_ r: Result<String, LuaError>) -> String {
    switch r {
    case .success(let v): return "ok " + v
    case .failure(let e): return "error " + e.message
    }
  }

  @Test("the same outcome as a fresh state, call after call, whatever the budget")
  func sameOutcomes() throws {
    var rng = SystemRandomNumberGenerator()
    let kept = try SandboxedState()
    var trips = 0
    for _ in 0..<160 {
      let function = Int.random(in: 0...3, using: &rng)
      let n = [30, 50, 70].randomElement(using: &rng) ?? 50
      let start = [1, 1, 2, 10].randomElement(using: &rng) ?? 1
      let budget: Int32 =
        [2_000, 10_000, 25_000, 40_000, 60_000, 100_000, 400_000].randomElement(
          using: &rng) ?? 10_000
      let source = Self.chunk(function, n: n, start: start)
      kept.instructionBudget = budget
      let fresh = try SandboxedState()
      fresh.instructionBudget = budget
      let expected = Self.outcome(run(source, in: fresh))
      let got = Self.outcome(run(source, in: kept))
      #expect(got == expected, "\(source) with budget \(budget)")
      if expected.contains("instruction budget exceeded") { trips += 1 }
    }
    // The sweep must exercise both sides: searches that run out and searches that finish.
    #expect(trips > 10)
    #expect(trips < 150)
  }

  @Test("a repeated runaway search fails with the budget's error each time")
  func repeated() throws {
    let s = try SandboxedState()
    s.instructionBudget = 1_000_000
    for _ in 0..<50 {
      let r = run(#"return string.find(string.rep("a", 4000), ".-.-.-.-b")"#, in: s)
      #expect(Self.outcome(r).contains("instruction budget exceeded"), "\(Self.outcome(r))")
    }
    s.instructionBudget = 0
    #expect(try run("return ('alive'):upper()", in: s).get() == "ALIVE")
  }
}
