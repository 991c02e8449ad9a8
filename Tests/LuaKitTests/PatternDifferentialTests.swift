import CLua
import CLuaHost
import Testing

/// `string.find`, `match`, `gmatch` and `gsub` as the sandbox implements them (patterns.c)
/// against Lua 5.4's own: the same Lua text runs in a state with Lua's library and in one whose
/// `string` table holds ours, and every result (with its type) and every error message must be
/// byte for byte the same.
@Suite("Pattern functions match Lua's")
struct PatternDifferentialTests {
  /// Loaded in both states. `DRIVE` calls one function under `pcall` and serialises what it
  /// returned; for gmatch it serialises each call of the iterator, and keeps calling it after an
  /// error (the stock iterator's depth counter carries over between calls, and ours must agree).
  static let driver = #"""
    local fmt, tostring, type, select, pcall, concat = string.format, tostring, type, select, pcall, table.concat
    local mtype, unpack, pack = math.type, table.unpack, table.pack
    local function ser1(v)
      local t = type(v)
      if t == "string" then return "s" .. fmt("%q", v)
      elseif t == "number" then return mtype(v) .. ":" .. fmt("%q", v)
      elseif t == "nil" or t == "boolean" then return tostring(v)
      else return t end
    end
    function SER(...)
      local n = select("#", ...)
      local out = {}
      for i = 1, n do out[i] = ser1((select(i, ...))) end
      return n .. "[" .. concat(out, ",") .. "]"
    end
    local SER = SER
    -- every call of the iterator until it is exhausted, or after four errors
    function ALL(it)
      local out, errors = {}, 0
      for _ = 1, 60 do
        local q = pack(pcall(it))
        out[#out + 1] = SER(unpack(q, 1, q.n))
        if not q[1] then
          errors = errors + 1
          if errors >= 4 then break end
        elseif q.n == 1 then
          local z = pack(pcall(it))
          out[#out + 1] = SER(unpack(z, 1, z.n))
          break
        end
      end
      return concat(out, ";")
    end
    local ALL = ALL
    local bytes = {}
    for i = 0, 255 do bytes[#bytes + 1] = string.char(i) end
    ALLBYTES = concat(bytes)
    local T = { a = "X", b = false, c = 3, d = 2.5, e = {}, ["1"] = "one", [1] = "int1", [2] = true,
      ab = "AB", [" "] = "_", ["("] = 7, [""] = "E", [3] = "three", x = "x%1" }
    local F = {
      function(...) return nil end,
      function(...) return false end,
      function(a, ...) return tostring(a) .. "!" .. select("#", ...) end,
      function(...) return select("#", ...) end,
      function(...) return {} end,
      function(a) return a end,
      function(a, b) return b end,
      function(...) error("boom") end,
      function(...) return 1.5 end,
      function(a) return true end,
      function(...) return SER(...) end,
      function(a) return (tostring(a):gsub(".", "%0%0")) end,
    }
    local S = string
    local direct = {
      find = function(...) return S.find(...) end,
      match = function(...) return S.match(...) end,
      gmatch = function(...) return S.gmatch(...) end,
      gsub = function(...) return S.gsub(...) end,
    }
    local method = {
      find = function(s, ...) return s:find(...) end,
      match = function(s, ...) return s:match(...) end,
      gmatch = function(s, ...) return s:gmatch(...) end,
      gsub = function(s, ...) return s:gsub(...) end,
    }
    -- style: 0 pcall(string.f, ...), 1 string.f(...) inside a function, 2 s:f(...) (the
    -- function's name in argument errors comes from the call site). r3: -1 puts the table T
    -- as argument 3, k > 0 the function F[k].
    function DRIVE(fn, style, nargs, r3, a1, a2, a3, a4)
      local args = { a1, a2, a3, a4 }
      if r3 == -1 then args[3] = T elseif r3 > 0 then args[3] = F[r3] end
      local f
      if style == 0 then f = S[fn] elseif style == 1 then f = direct[fn] else f = method[fn] end
      if fn ~= "gmatch" then return SER(pcall(f, unpack(args, 1, nargs))) end
      local r = pack(pcall(f, unpack(args, 1, nargs)))
      if not r[1] then return SER(unpack(r, 1, r.n)) end
      return ALL(r[2])
    end
    """#

  /// One argument of a generated call; `none` is an absent argument (not even nil).
  enum Arg {
    case none, null, bool(Bool), int(Int64), float(Double), bytes([UInt8])
  }

  struct Case: CustomStringConvertible {
    var fn: String
    var style = 0
    var args: [Arg] = [.none, .none, .none, .none]
    var nargs = 0
    var replacement = 0  // DRIVE's r3

    var description: String {
      let shown = args.prefix(nargs).enumerated().map { i, a -> String in
        if i == 2 && replacement == -1 { return "<table>" }
        if i == 2 && replacement > 0 { return "<function \(replacement)>" }
        return Self.show(a)
      }
      let how = ["pcall(string.\(fn))", "string.\(fn)", ":\(fn)"][style]
      return "\(how)(\(shown.joined(separator: ", ")))"
    }

    static func show(_ a: Arg) -> String {
      switch a {
      case .none: return "<none>"
      case .null: return "nil"
      case .bool(let b): return "\(b)"
      case .int(let i): return "\(i)"
      case .float(let d): return "\(d) (float)"
      case .bytes(let b):
        var s = "\""
        for c in b {
          if c >= 32 && c < 127 && c != 34 && c != 92 {
            s.unicodeScalars.append(Unicode.Scalar(c))
          } else {
            s += "\\\(c)"
          }
        }
        return s + "\""
      }
    }
  }

  /// A state with Lua's libraries and the driver; `ours` puts patterns.c's functions in
  /// `string` (which is also the strings' metatable's __index, so methods reach them too).
  final class Runner {
    let L: OpaquePointer

    init(ours: Bool) {
      L = luaL_newstate()!
      luaL_openlibs(L)
      if ours {
        lua_getglobal(L, "string")
        lua_pushcclosure(L, clua_str_find, 0)
        lua_setfield(L, -2, "find")
        lua_pushcclosure(L, clua_str_match, 0)
        lua_setfield(L, -2, "match")
        lua_pushcclosure(L, clua_str_gmatch, 0)
        lua_setfield(L, -2, "gmatch")
        lua_pushcclosure(L, clua_str_gsub, 0)
        lua_setfield(L, -2, "gsub")
        lua_settop(L, -2)
      }
      let loaded = luaL_loadstring(L, PatternDifferentialTests.driver)
      precondition(loaded == LUA_OK && clua_pcall(L, 0, 0, 0) == LUA_OK, "driver: \(top())")
    }

    deinit { lua_close(L) }

    func top() -> [UInt8] {
      var length = 0
      guard let p = lua_tolstring(L, -1, &length) else { return Array("(not a string)".utf8) }
      return Array(UnsafeRawBufferPointer(start: p, count: length))
    }

    func pushBytes(_ b: [UInt8]) {
      b.withUnsafeBufferPointer { buf in
        if let base = buf.baseAddress {
          _ = lua_pushlstring(
            L, UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self), buf.count)
        } else {
          _ = lua_pushlstring(L, "", 0)
        }
      }
    }

    func push(_ a: Arg) {
      switch a {
      case .none, .null: lua_pushnil(L)
      case .bool(let b): lua_pushboolean(L, b ? 1 : 0)
      case .int(let i): lua_pushinteger(L, lua_Integer(i))
      case .float(let d): lua_pushnumber(L, d)
      case .bytes(let b): pushBytes(b)
      }
    }

    /// The serialised outcome of one generated call.
    func run(_ c: Case) -> [UInt8] {
      let base = lua_gettop(L)
      defer { lua_settop(L, base) }
      lua_getglobal(L, "DRIVE")
      _ = lua_pushstring(L, c.fn)
      lua_pushinteger(L, lua_Integer(c.style))
      lua_pushinteger(L, lua_Integer(c.nargs))
      lua_pushinteger(L, lua_Integer(c.replacement))
      for a in c.args { push(a) }
      if clua_pcall(L, 8, 1, 0) != LUA_OK { return Array("driver failed: ".utf8) + top() }
      return top()
    }

    /// The serialised outcome of `expr` (a Lua expression) evaluated under pcall.
    func eval(_ expr: String) -> [UInt8] {
      let base = lua_gettop(L)
      defer { lua_settop(L, base) }
      let chunk = "return SER(pcall(function() return \(expr) end))"
      guard luaL_loadstring(L, chunk) == LUA_OK else { return Array("load failed: ".utf8) + top() }
      if clua_pcall(L, 0, 1, 0) != LUA_OK { return Array("run failed: ".utf8) + top() }
      return top()
    }
  }

  @Test(
    "generated calls give Lua's results and errors", arguments: ["find", "match", "gmatch", "gsub"])
  func generated(fn: String) {
    var r = SplitMix64(
      state: 0x5EED_0000 + UInt64(["find", "match", "gmatch", "gsub"].firstIndex(of: fn)!))
    let cases = (0..<3000).map { _ in Self.generate(fn, &r) }
    #expect(Self.compare(cases) == 0)
  }

  @Test("nesting at the depth limit fails the same way")
  func depthLimit() {
    let cases = Self.deepCases()
    #expect(cases.count > 500)
    #expect(Self.compare(cases) == 0)
    // The limit is really exercised: both outcomes occur.
    let stock = Runner(ours: false)
    let complex = cases.filter {
      String(decoding: stock.run($0), as: UTF8.self).contains("pattern too complex")
    }
    #expect(complex.count > 50 && complex.count < cases.count - 50)
  }

  @Test("hand-written cases: each feature and each error message")
  func handWritten() {
    let stock = Runner(ours: false)
    let ours = Runner(ours: true)
    for (expr, expected) in Self.handWritten {
      let a = String(decoding: stock.eval(expr), as: UTF8.self)
      let b = String(decoding: ours.eval(expr), as: UTF8.self)
      #expect(a == b, "\(expr)")
      if let expected { #expect(a.contains(expected), "\(expr): Lua gave \(a)") }
    }
  }

  @Test("every byte against every class and some sets")
  func classes() {
    let stock = Runner(ours: false)
    let ours = Runner(ours: true)
    var exprs: [String] = []
    for c in "acdglpsuwxzACDGLPSUWXZ.%-]q" {
      exprs.append(#"string.gsub(ALLBYTES, "%\#(c)", "")"#)
      exprs.append(#"ALL(string.gmatch(ALLBYTES, "%\#(c)+"))"#)
    }
    for set in [
      "[%a_]", "[^%d]", "[a-f]", "[]]", "[^]]", "[a-]", "[%-a]", "[\\128-\\255]", "[^\\0-\\127]",
      "[%w%p]", "[%S]", "[^%S]", "[0-9a-fA-F]", "[z-a]", "[%a-z]", "[a-%z]",
    ] {
      exprs.append(#"string.gsub(ALLBYTES, "\#(set)", "")"#)
      exprs.append(#"string.find(ALLBYTES, "\#(set)+")"#)
      exprs.append(#"string.gsub(ALLBYTES, "%f\#(set)", "|")"#)
    }
    for expr in exprs {
      let a = stock.eval(expr)
      let b = ours.eval(expr)
      #expect(
        a == b,
        "\(expr): Lua \(String(decoding: a, as: UTF8.self)) ours \(String(decoding: b, as: UTF8.self))"
      )
    }
  }
}
