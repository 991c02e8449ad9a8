import CLua
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
}
