import CLua
import CLuaHost
import Testing

@testable import LuaKit

/// Runs `source` as a strategy chunk and returns its result as a string (or the error).
func run(_ source: String, in state: SandboxedState? = nil, id: String = "t") -> Result<
  String, LuaError
> {
  do throws(LuaError) {
    let s: SandboxedState
    if let state { s = state } else { s = try SandboxedState() }
    let top = s.lua.top
    defer { s.lua.top = top }
    try s.runChunk(source, path: "Strategies/\(id).lua", id: id)
    return .success(
      s.lua.string(at: -1) ?? (lua_toboolean(s.lua.L, -1) != 0 ? "true" : "false/nil"))
  } catch {
    return .failure(error)
  }
}

@Suite("Lua sandbox")
struct SandboxTests {
  @Test(
    "a strategy sees the safe libraries",
    arguments: [
      "return tostring(math.floor(2.5))", "return string.format('%d', 3)", "return utf8.char(65)",
      "return table.concat({1,2}, ',')", "return ('abc'):upper()", "return select('#', 1, 2)",
    ])
  func safeLibraries(source: String) {
    if case .failure(let e) = run(source) { Issue.record("\(source): \(e)") }
  }

  @Test(
    "dangerous globals are absent",
    arguments: [
      "os", "io", "debug", "package", "dofile", "loadfile", "collectgarbage", "require_unsafe",
    ])
  func noDangerousGlobals(name: String) throws {
    #expect(try run("return \(name) == nil and 'absent' or 'present'").get() == "absent")
  }

  @Test("string.dump is gone and binary chunks are refused")
  func noBytecode() throws {
    #expect(try run("return string.dump == nil and 'absent' or 'present'").get() == "absent")
    let binary = #"return select(2, load("\27Lua", "x", "b")) or 'loaded'"#
    #expect(try run(binary).get() == "only text chunks can be loaded")
    let sneaky = #"local f, e = load("\27Lua\84\0") return e or 'loaded'"#
    #expect(try run(sneaky).get().contains("binary"))
  }

  @Test("library tables and the string metatable are read-only")
  func readOnly() throws {
    let s = try SandboxedState()
    if case .success = run("math.floor = nil return 1", in: s) { Issue.record("math writable") }
    if case .success = run("string.upper = nil return 1", in: s) { Issue.record("string writable") }
    #expect(try run("return tostring(getmetatable(''))", in: s).get() == "false")
    if case .success = run("rawset(math, 'x', 1) return 1", in: s) { Issue.record("rawset bypass") }
    #expect(try run("return math.floor(1.5) == 1 and 'ok' or 'no'", in: s).get() == "ok")
  }

  @Test("one strategy's globals are invisible to another in the same state")
  func isolatedGlobals() throws {
    let s = try SandboxedState()
    _ = run("counter = 41 print = nil return 1", in: s, id: "a")
    #expect(try run("return tostring(counter)", in: s, id: "b").get() == "nil")
    #expect(try run("return type(print)", in: s, id: "b").get() == "function")
  }

  @Test("load runs text in the caller's environment, never the real globals")
  func loadUsesSandbox() throws {
    let s = try SandboxedState()
    #expect(try run("x = 5 return load('return x')()", in: s).get() == "5")
    #expect(
      try run("return load('return os')() == nil and 'safe' or 'escape'", in: s).get() == "safe")
  }

  @Test("errors carry the file and line")
  func errorLocation() {
    guard case .failure(let e) = run("local a = 1\nlocal b = nil + a\nreturn b", id: "bad") else {
      Issue.record("expected an error")
      return
    }
    #expect(e.file == "Strategies/bad.lua")
    #expect(e.line == 2)
    #expect(e.message.hasPrefix("Strategies/bad.lua:2:"))
  }

  @Test("a syntax error names the file and line")
  func syntaxError() {
    guard
      case .failure(let e) = run(
        "return {\nfilter = function(s)\n  return s.price >\nend }", id: "syn")
    else {
      Issue.record("expected an error")
      return
    }
    #expect(e.file == "Strategies/syn.lua")
    #expect(e.line == 4)
  }

  @Test("an endless loop is stopped by the instruction budget, even under pcall")
  func budget() throws {
    let s = try SandboxedState()
    let L = s.lua.L
    try s.runChunk(
      "return function() pcall(function() while true do end end) while true do end end",
      path: "loop.lua", id: "loop")
    clua_setbudget(L, 100_000)
    var aborted: LuaError?
    do { try s.lua.protectedCall(arguments: 0, results: 0) } catch { aborted = error }
    #expect(aborted?.message.contains("instruction budget exceeded") == true)
    clua_setbudget(L, 0)
    // The state still works afterwards.
    #expect(try run("return 'alive'", in: s).get() == "alive")
  }

  /// Whether `clua_needsbudget` says the function `source` returns needs the count hook.
  private func needsBudget(_ source: String, budget: Int = 1_000_000) throws -> Bool {
    let s = try SandboxedState()
    try s.runChunk(source, path: "f.lua", id: "f")
    return clua_needsbudget(s.lua.L, -1, lua_Integer(budget)) != 0
  }

  @Test(
    "straight-line filters are bounded (no count hook needed)",
    arguments: [
      "return function(s) return false end",
      "return function(s) return s.change_pct > 5 and s.quote_volume > 1e6 end",
      "local k = 3 return function(s) if s.a then return s.b + k, 'x' .. s.c else return #s.d == 0 end end",
      "return function(s) local t = { s.a, s.b, n = 2 } t.x = -t[1] return t, function() end end",
      "local n = 0 return function(s) n = n + 1 return n % 2 == 0, n // 3 end",
    ])
  func bounded(source: String) throws {
    #expect(try needsBudget(source) == false)
  }

  @Test(
    "filters that loop, call or close need the count hook",
    arguments: [
      "return function(s) while true do end end",
      "return function(s) for i = 1, 3 do end return true end",
      "return function(s) for k in next, s do end end",
      "return function(s) ::again:: if s.x then goto again end end",
      "return function(s) repeat until s.done end",
      "return function(s) return math.max(s.a, 1) > 2 end",
      "return function(s) return s:upper() end",
      "local f return function(s) return f(s) end",
      "return function(s) local x <close> = s.h return true end",
      "return print",
    ])
  func unbounded(source: String) throws {
    #expect(try needsBudget(source) == true)
  }

  @Test("a straight-line function too long for the budget (with the host's margin) needs the hook")
  func longFunction() throws {
    func source(_ n: Int) -> String {
      let body = (0..<n).map { "x = s.a + \($0)" }.joined(separator: " ")
      return "return function(s) local x \(body) return x end"
    }
    #expect(try needsBudget(source(400), budget: 1000) == true)
    #expect(try needsBudget(source(400), budget: 100_000) == false)
    #expect(try needsBudget(source(10), budget: 1000) == false)
    // ~180 instructions: fewer than the budget, but not with 8 per instruction to spare.
    #expect(try needsBudget(source(60), budget: 1000) == true)
  }

  @Test("a filter left unhooked never reaches the budget, host metamethods included")
  func marginCoversHostMetamethods() throws {
    var unhooked = 0
    for k in [1, 5, 20, 40, 80, 160, 200, 240] {
      let sum = Array(repeating: "#math", count: k).joined(separator: " + ")
      let source = "return function(s) return \(sum) end"
      guard try needsBudget(source, budget: 1000) == false else { continue }
      unhooked += 1
      // The same call with the hook armed at that budget must not be aborted.
      let s = try SandboxedState()
      try s.runChunk(source, path: "f.lua", id: "f")
      lua_pushnil(s.lua.L)
      clua_setbudget(s.lua.L, 1000)
      defer { clua_setbudget(s.lua.L, 0) }
      #expect(throws: Never.self) { try s.lua.protectedCall(arguments: 1, results: 1) }
    }
    #expect(unhooked >= 2)
  }

  @Test("setmetatable from strategy code marks the state (every filter then runs counted)")
  func metatableMark() throws {
    let s = try SandboxedState()
    let L = s.lua.L
    #expect(clua_budgetof(L)?.pointee.metatables == 0)
    _ = try run("return getmetatable('') == nil", in: s).get()
    #expect(clua_budgetof(L)?.pointee.metatables == 0)
    _ = try run("local t = setmetatable({}, {}) return 'ok'", in: s).get()
    #expect(clua_budgetof(L)?.pointee.metatables == 1)
  }
}

/// `clua_filterclass` 2: filters that call only the host's `ta` and `math`, and the check of
/// their environment before each call (`clua_EnvGuard`).
@Suite("Filters calling only ta and math")
struct TACallClassTests {
  /// A state with a read-only `ta` global of C functions (as the engine installs it); returns
  /// the state and the address of its `ta`.
  static func stateWithTA() throws -> (SandboxedState, UnsafeRawPointer?) {
    let s = try SandboxedState()
    let L = s.lua.L
    lua_createtable(L, 0, 4)
    for name in ["rsi", "ema", "crossover", "bbands"] {
      lua_pushcclosure(
        L,
        { L in
          lua_pushnumber(L, 1); return 1
        }, 0)
      lua_setfield(L, -2, name)
    }
    try s.makeReadonly(name: "ta")
    let ta = lua_topointer(L, -1)
    try s.addGlobal("ta")
    return (s, ta)
  }

  /// The class of the function `source` returns, with its environment known, and the host
  /// libraries it calls (bit 0: `ta`, bit 1: `math`).
  static func classify(_ source: String, budget: Int = 1_000_000) throws -> (Int32, Int32) {
    let (s, _) = try stateWithTA()
    let top = s.lua.top
    defer { s.lua.top = top }
    try s.runChunk(source, path: "f.lua", id: "f", keepingEnvironment: true)
    var libraries: Int32 = -1
    let c = clua_filterclass(s.lua.L, -1, lua_Integer(budget), -2, &libraries)
    return (c, libraries)
  }

  static func callClass(_ source: String, budget: Int = 1_000_000) throws -> Int32 {
    try classify(source, budget: budget).0
  }

  @Test(
    "filters whose calls are all ta.NAME read right before the call: bounded while ta holds",
    arguments: [
      "return function(s) return ta.rsi(s.k.close, 14) < 30 end",
      "return function(s) local r = ta.rsi(s.k.close, 14) return r ~= nil and r < 30 end",
      """
      return function(s)
        if s.quote_volume < 1e6 then return false end
        local close = s.klines["1m"].close
        local _, _, lower = ta.bbands(close, 20, 2)
        local rsi = ta.rsi(close, 14)
        if lower and rsi and close[#close] < lower and rsi < 35 then return true, rsi end
        return false
      end
      """,
      "return function(s) return ta.crossover(ta.ema(s.c, 5), ta.ema(s.c, 10)) end",
      "local n = 14 return function(s) return ta.rsi(s.c, n + 1), ta.rsi(s.c, n * 2) end",
      "return function(s) local t = ta return t.rsi(s.c, 14) end",
      "return function(s, ...) return ta.rsi(...) end",
    ])
  func taOnly(source: String) throws {
    #expect(try Self.classify(source) == (2, 1))
  }

  @Test(
    "math.NAME calls too, alone or with ta",
    arguments: [
      ("return function(s) return math.abs(s.change_pct) > 5 and s.quote_volume > 1e6 end", 2),
      ("return function(s) return math.max(s.a, s.b) - math.min(s.a, s.b) end", 2),
      ("return function(s) return math.max(ta.rsi(s.c, 14), 1) > 50 end", 3),
    ] as [(String, Int32)])
  func mathToo(source: String, libraries: Int32) throws {
    #expect(try Self.classify(source) == (2, libraries))
  }

  @Test(
    "a call whose function may come from anywhere else, or a filter that writes: hooked",
    arguments: [
      "return function(s) local f = ta.rsi if s.x then f = s.y end return f(s.c, 14) end",
      "return function(s) return (s.x and ta.rsi or ta.ema)(s.c, 14) end",
      "return function(s) return (s.x and s.y or ta.rsi)(s.c, 14) end",
      "return function(s) return math.max(ta.rsi(s.c, 14) or s.f, 1) end",
      "return function(s) local f = s.y if s.x then f = ta.rsi end return f(s.c, 14) end",
      "return function(s) local f = ta.rsi local g = s.g f = g return f(s.c) end",
      "return function(s) ta = s.t return ta.rsi(s.c, 14) end",
      "return function(s) _G.ta = s.t return ta.rsi(s.c, 14) end",
      "return function(s) local t = {} t.x = 1 return ta.rsi(s.c, 14) end",
      "local ta = { rsi = print } return function(s) return ta.rsi(s.c, 14) end",
      "local _ENV = { ta = { rsi = print } } return function(s) return ta.rsi(s.c, 14) end",
      "return function(s) return ta.rsi(s.c, 14) + s.f() end",
      "return function(s) return s.ta.rsi(s.c, 14) end",
      "return function(s) return ta.rsi(s.c, 14), function() end end",
      "return function(s) for i = 1, 2 do ta.rsi(s.c, i) end end",
      "return function(s) return ta:rsi(s.c) end",
      "return function(s) return string.format('%d', s.x) end",
      "local math = { abs = print } return function(s) return math.abs(s.x) end",
      "return function(s) return math.floor(s.x) + s.f() end",
      "return function(s) local m = math m.abs = print return m.abs(1) end",
    ])
  func hooked(source: String) throws {
    #expect(try Self.callClass(source) == 1)
  }

  @Test("no calls: bounded outright; too long for the budget, or no environment known: hooked")
  func otherClasses() throws {
    #expect(try Self.callClass("return function(s) return s.x > 1 end") == 0)
    let body = (0..<200).map { "x = ta.rsi(s.c, \($0))" }.joined(separator: " ")
    let long = "return function(s) local x \(body) return x end"
    #expect(try Self.callClass(long, budget: 1000) == 1)
    #expect(try Self.callClass(long, budget: 1_000_000) == 2)
    let (s, _) = try Self.stateWithTA()
    try s.runChunk("return function(s) return ta.rsi(s.c, 14) end", path: "f.lua", id: "f")
    var libraries: Int32 = 0
    #expect(clua_filterclass(s.lua.L, -1, 1_000_000, 0, &libraries) == 1)
  }

  @Test("the environment check follows the strategy's ta: replaced, restored, the table grown")
  func guardFollowsTA() throws {
    let (s, ta) = try Self.stateWithTA()
    let L = s.lua.L
    try s.runChunk(
      """
      local real, realmath = ta, math
      return {
        filter = function(s) return ta.rsi(s, 14) end,
        swap = function(x) ta = x end,
        restore = function() ta = real end,
        grow = function(n) for i = 1, n do _ENV["g" .. i] = i end end,
        clear = function() ta = nil end,
        swapmath = function(x) math = x end,
        restoremath = function() math = realmath end,
      }
      """, path: "f.lua", id: "f", keepingEnvironment: true)
    let env = lua_absindex(L, -2)
    let strategy = lua_absindex(L, -1)
    let check = UnsafeMutablePointer<clua_EnvGuard>.allocate(capacity: 1)
    defer { check.deallocate() }
    let math = s.hostLibrary("math")
    #expect(math != nil && math != ta)
    var hosts: [UnsafeRawPointer?] = [ta, math]
    #expect(clua_envguard_setup(L, check, env, 1, &hosts) == 1)
    #expect(clua_envguard_holds(check) == 1)
    func call(_ name: String, _ push: (() -> Void)? = nil) throws {
      lua_getfield(L, strategy, name)
      push?()
      try s.lua.protectedCall(arguments: push == nil ? 0 : 1, results: 0)
    }
    try call("swap") { lua_createtable(L, 0, 0) }
    #expect(clua_envguard_holds(check) == 0)
    try call("restore")
    #expect(clua_envguard_holds(check) == 1)
    try call("grow") { lua_pushinteger(L, 200) }  // the node array is reallocated
    #expect(clua_envguard_holds(check) == 1)
    try call("swap") { lua_pushvalue(L, strategy) }
    #expect(clua_envguard_holds(check) == 0)
    try call("clear")
    #expect(clua_envguard_holds(check) == 0)
    try call("restore")
    #expect(clua_envguard_holds(check) == 1)
    // Both libraries: math replaced, then restored.
    #expect(clua_envguard_setup(L, check, env, 3, &hosts) == 1)
    try call("swapmath") { lua_createtable(L, 0, 0) }
    #expect(clua_envguard_holds(check) == 0)
    try call("swapmath") { lua_pushnil(L) }  // nil: the shared math shows again, but not here
    #expect(clua_envguard_holds(check) == 0)
    try call("restoremath")
    #expect(clua_envguard_holds(check) == 1)
    // Set up against anything but the host's library: off.
    var wrong: [UnsafeRawPointer?] = [UnsafeRawPointer(check), math]
    #expect(clua_envguard_setup(L, check, env, 1, &wrong) == 0)
    #expect(clua_envguard_holds(check) == 0)
  }
}

/// Soundness of `clua_filterclass` 2 on generated filters: a filter it lets run without the
/// count hook must never reach a Lua function, whatever the values it reads.
@Suite("Filters calling only ta and math: generated")
struct TACallClassFuzzTests {
  /// Random filters over expressions that read fields, globals and upvalues which may hold
  /// Lua functions, call `ta`/`math` and other things, and branch.
  struct Generator {
    var state: UInt64
    mutating func next(_ n: Int) -> Int {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Int((state >> 33) % UInt64(n))
    }
    mutating func expr(_ depth: Int) -> String {
      let leaves = ["s.a", "s.f", "s.t", "1", "x1", "x2", "f", "g", "ta", "math.pi", "nil"]
      if depth <= 0 { return leaves[next(leaves.count)] }
      // Mostly what a filter may call unhooked, with the patterns that must not pass mixed in.
      let r = next(100)
      let e = { (g: inout Generator) in g.expr(depth - 1) }
      switch r {
      case 0..<15: return "ta.rsi(\(e(&self)), 14)"
      case 15..<25: return "math.abs(\(e(&self)))"
      case 25..<35: return "math.max(\(e(&self)), \(e(&self)))"
      case 35..<45: return "(\(e(&self)) and \(e(&self)) or \(e(&self)))"
      case 45..<50: return "ta.ema(\(e(&self)), \(e(&self)))"
      case 50..<55: return "\(e(&self)).f"
      case 55..<59: return "(\(e(&self)) or ta.rsi)(\(e(&self)))"
      case 59..<63: return "(s.a == 1 and math.abs or s.f)(\(e(&self)))"
      case 63..<65: return "(\(e(&self)))(\(e(&self)))"
      case 65..<66: return "s.f(\(e(&self)))"
      case 66..<67: return "f(\(e(&self)))"
      case 67..<68: return "select(1, \(e(&self)))"
      default: return leaves[next(leaves.count)]
      }
    }
    mutating func filter() -> String {
      var body = "local x1, x2 = \(expr(1)), \(expr(1)) "
      for _ in 0..<next(4) {
        switch next(4) {
        case 0: body += "if \(expr(2)) then x1 = \(expr(2)) end "
        case 1: body += "x2 = \(expr(2)) "
        case 2: body += "if \(expr(1)) then return \(expr(2)) end "
        default: body += "local y = \(expr(2)) x1 = y "
        }
      }
      return "function(s) \(body) return \(expr(3)) end"
    }
  }

  @Test("2000 generated filters: those run unhooked never call a Lua function")
  func generated() throws {
    let (s, _) = try TACallClassTests.stateWithTA()
    let L = s.lua.L
    var gen = Generator(state: 0x5EED_F00D)
    var unhooked = 0
    for _ in 0..<2000 {
      let source = """
        hits = 0
        local function hit() hits = hits + 1 return 1 end
        local g = hit
        f = hit
        drive = function(filter)
          for _, v in ipairs({ 1, hit, "x", {}, false }) do
            pcall(filter, { a = v, f = hit, t = { f = hit } })
            pcall(filter, { a = 1, f = v, t = v })
          end
          return hits
        end
        return \(gen.filter())
        """
      let top = s.lua.top
      defer { s.lua.top = top }
      // Stack: env, filter. A generated source that does not compile is skipped.
      guard (try? s.runChunk(source, path: "gen.lua", id: "gen", keepingEnvironment: true)) != nil
      else { continue }
      var libraries: Int32 = 0
      guard clua_filterclass(L, -1, 1_000_000, -2, &libraries) == 2 else { continue }
      unhooked += 1
      lua_getfield(L, -2, "drive")
      lua_pushvalue(L, -2)
      try s.lua.protectedCall(arguments: 1, results: 1)
      #expect(lua_tointegerx(L, -1, nil) == 0, "\(source)")
    }
    #expect(unhooked > 100)
  }
}
