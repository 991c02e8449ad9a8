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

  /// SplitMix64: the generated cases depend on the seed only.
  struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    mutating func callAsFunction(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func pick<T>(_ xs: [T]) -> T { xs[self(xs.count)] }
  }

  // MARK: generation

  static let subjectBytes: [[UInt8]] =
    [
      "a", "b", "c", "(", ")", " ", "1", "2", ".", "%", "[", "]", "-", "x", "A", "_", "\n", "^",
      "$", "a", "a", "b",
    ].map { Array($0.utf8) } + [[0], [0x80], [0xFF]]

  static let items: [String] = [
    "a", "b", "c", ".", "x", "A", " ", "1", "(", ")", "%a", "%d", "%s", "%w", "%p", "%x", "%l",
    "%u", "%c", "%g", "%A", "%D", "%S", "%W", "%z", "%Z", "%.", "%%", "%(", "%)", "%]", "%[",
    "%-", "%q", "[abc]", "[^a]", "[a-c]", "[%a_]", "[]]", "[^]]", "[a-]", "[%]", "[%]]", "[^%s]",
    "[%d-z]", "[a%-c]", "[-a]", "[a-]]", "[%w%p]", "[.]", "_", "\n",
  ]
  static let rawItems: [[UInt8]] = [
    [0], [0x80], [0xFF], [0x5B, 0, 0x2D, 0x80, 0x5D], [0x5B, 0x5E, 0x80, 0x2D, 0xFF, 0x5D],
  ]
  static let specials: [String] = [
    "[", "]", "^", "$", "(", ")", "()", "*", "+", "-", "?", "%b()", "%bab", "%b", "%ba", "%b((",
    "%f[%w]", "%f[%W]", "%f[a]", "%f[^a]", "%f", "%f[", "%fa", "%f[%z]", "%1", "%2", "%3", "%0",
    "%9", "%", "[^", "[%", "%b)(",
  ]
  static let quantifiers = ["*", "+", "-", "?"]

  static func subject(_ r: inout SplitMix64) -> [UInt8] {
    let n = r(4) == 0 ? r(30) : r(12)
    let alphabet = min(3 + r(23), subjectBytes.count)
    var s: [UInt8] = []
    for _ in 0..<n { s += subjectBytes[r(alphabet)] }
    return s
  }

  /// A pattern of random items, specials and captures. At most `maxQuantifiers` repetition
  /// suffixes, so that stock Lua's backtracking stays small on these subjects.
  static func randomPattern(_ r: inout SplitMix64, maxQuantifiers: Int) -> [UInt8] {
    var p: [UInt8] = []
    var quantified = 0
    func quantify(_ r: inout SplitMix64) {
      if r(2) == 0 && quantified < maxQuantifiers {
        p += Array(r.pick(quantifiers).utf8)
        quantified += 1
      }
    }
    if r(6) == 0 { p += Array("^".utf8) }
    for _ in 0..<(r(5) == 0 ? r(12) : r(7)) {
      let c = r(10)
      if c < 6 {
        p += r(8) == 0 ? r.pick(rawItems) : Array(r.pick(items).utf8)
        quantify(&r)
      } else if c < 9 {
        p += Array(r.pick(specials).utf8)
      } else {
        p += Array("(".utf8)
        for _ in 0..<r(3) {
          p += Array(items[r(12)].utf8)
          quantify(&r)
        }
        if r(8) != 0 { p += Array(")".utf8) }
      }
    }
    if r(8) == 0 { p += Array("$".utf8) }
    return p
  }

  /// A pattern made from a stretch of the subject, so that it often matches: bytes kept
  /// (escaped), or turned into '.', a class or a set; some captures, back-references, %b, %f.
  static func friendlyPattern(_ r: inout SplitMix64, from s: [UInt8], maxQuantifiers: Int)
    -> [UInt8]
  {
    var p: [UInt8] = []
    let a = s.isEmpty ? 0 : r(s.count)
    let b = a + (s.isEmpty ? 0 : r(s.count - a + 1))
    var open = 0
    var closed = 0
    var quantified = 0
    let escaped = Set(Array("^$*+?.([%-])".utf8))
    let classes: [(String, (UInt8) -> Bool)] = [
      ("%a", { ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) }),
      ("%d", { $0 >= 48 && $0 <= 57 }),
      ("%s", { $0 == 32 || ($0 >= 9 && $0 <= 13) }),
      (
        "%p",
        {
          ($0 >= 33 && $0 <= 47) || ($0 >= 58 && $0 <= 64) || ($0 >= 91 && $0 <= 96)
            || ($0 >= 123 && $0 <= 126)
        }
      ),
      ("%c", { $0 < 32 || $0 == 127 }),
    ]
    func literal(_ c: UInt8) -> [UInt8] { escaped.contains(c) ? [37, c] : [c] }
    if r(5) == 0 { p += Array("^".utf8) }
    for i in a..<b {
      let c = s[i]
      if r(6) == 0 && open < 3 {
        if r(5) == 0 {
          p += Array("()".utf8)
        } else {
          p += Array("(".utf8)
          open += 1
        }
      }
      let k = r(10)
      if k < 4 {
        p += literal(c)
      } else if k < 6 {
        p += Array(".".utf8)
      } else if k < 8 {
        let fits = classes.filter { $0.1(c) }
        p += fits.isEmpty ? Array(".".utf8) : Array(r.pick(fits).0.utf8)
      } else if k < 9 {
        p += Array((r(3) == 0 ? "[^z" : "[").utf8) + literal(c)
        if r(2) == 0 { p += Array("a-c".utf8) }
        p += Array("]".utf8)
      } else {
        if closed > 0 && r(2) == 0 {
          p += [37, UInt8(49 + r(closed))]
        } else {
          p += Array((r(2) == 0 ? "%f[%w]" : "%b()").utf8)
        }
        continue
      }
      if r(3) == 0 && quantified < maxQuantifiers {
        p += Array(r.pick(quantifiers).utf8)
        quantified += 1
      }
      if open > 0 && r(4) == 0 {
        p += Array(")".utf8)
        open -= 1
        closed += 1
      }
    }
    while open > 0 {
      if r(6) != 0 { p += Array(")".utf8) }
      open -= 1
    }
    if r(6) == 0 { p += Array("$".utf8) }
    if r(10) == 0 { p += Array(r.pick(specials).utf8) }
    return p
  }

  static func initArg(_ r: inout SplitMix64) -> Arg {
    switch r(14) {
    case 0...3: return .none
    case 4: return .null
    case 5...8: return .int(Int64(r(30) - 15))
    case 9: return .int(r(2) == 0 ? Int64.max : Int64.min)
    case 10: return .float(Double(r(8) - 3))
    case 11: return .float(1.5)
    case 12: return .bytes(Array((r(2) == 0 ? "3" : "x").utf8))
    default: return .int(r(2) == 0 ? 100 : -100)
    }
  }

  static func template(_ r: inout SplitMix64) -> [UInt8] {
    let parts = ["x", "%0", "%1", "%2", "%%", "%", "%a", "%9", "<", ">", "%3", "-"]
    var t: [UInt8] = []
    for _ in 0..<r(5) { t += r(12) == 0 ? [0] : Array(r.pick(parts).utf8) }
    return t
  }

  /// A generated call of `fn`.
  static func generate(_ fn: String, _ r: inout SplitMix64) -> Case {
    var c = Case(fn: fn)
    c.style = r(3)
    var s: [UInt8] = []
    switch r(60) {
    case 0: c.args[0] = .int(123)
    case 1: c.args[0] = .null
    default:
      s = subject(&r)
      c.args[0] = .bytes(s)
    }
    // Fewer repetition suffixes on longer subjects: stock Lua cannot be stopped.
    let maxQ = s.count > 12 ? 2 : 4
    switch r(80) {
    case 0: c.args[1] = .int(2)
    case 1: c.args[1] = .float(2.0)
    default:
      c.args[1] = .bytes(
        r(2) == 0
          ? friendlyPattern(&r, from: s, maxQuantifiers: maxQ)
          : randomPattern(&r, maxQuantifiers: maxQ))
    }
    if fn != "gsub" {
      c.args[2] = initArg(&r)
      if fn == "find" {
        switch r(8) {
        case 0: c.args[3] = .bool(true)
        case 1: c.args[3] = .bool(false)
        case 2: c.args[3] = .null
        case 3: c.args[3] = .int(0)
        case 4: c.args[3] = .bytes(Array("x".utf8))
        default: break
        }
      }
    } else {
      switch r(12) {
      case 0...3: c.args[2] = .bytes(template(&r))
      case 4: c.args[2] = .int(7)
      case 5: c.args[2] = .float(1.5)
      case 6: c.replacement = -1
      case 7, 8: c.replacement = 1 + r(12)
      case 9: c.args[2] = .null
      case 10: break
      default: c.args[2] = .bool(true)
      }
      switch r(10) {
      case 0: c.args[3] = .int(Int64(r(5) - 1))
      case 1: c.args[3] = .null
      case 2: c.args[3] = .float(r(2) == 0 ? 1.5 : 2.0)
      case 3: c.args[3] = .bytes(Array((r(2) == 0 ? "2" : "x").utf8))
      case 4: c.args[3] = .int(r(2) == 0 ? Int64.max : Int64.min)
      default: break
      }
    }
    if case .none = c.args[2], c.replacement != 0 { c.args[2] = .null }
    var n = 4
    while n > 0, case .none = c.args[n - 1], !(n == 3 && c.replacement != 0) { n -= 1 }
    for i in 0..<n { if case .none = c.args[i] { c.args[i] = .null } }
    if r(10) == 0 && n > 0 { n = r(n + 1) }
    c.nargs = n
    if c.style == 2 {
      if n < 1 { c.style = 1 } else if case .bytes = c.args[0] {} else { c.style = 1 }
    }
    return c
  }

  /// Patterns that nest the stock matcher close to its limit of 200 activations (on these
  /// subjects each unit adds one level: a '?' whose item matched, a '*' or '-'; each capture
  /// open and close adds one more), on subjects where the first path either succeeds or
  /// reaches the limit, so that nothing backtracks for long.
  static func deepCases() -> [Case] {
    var cases: [Case] = []
    let units = ["a?", "a*", "a-", ".-", "[a]?", "a?b?", "%a-"]
    for fn in ["find", "match", "gmatch", "gsub"] {
      for unit in units {
        for target in [197, 198, 199, 200, 201, 202] {
          for captures in [0, 3] {
            let k = target - 3 * captures
            var p = String(repeating: "(", count: captures) + String(repeating: unit, count: k)
            p += String(repeating: ")", count: captures)
            for length in [k, k - 5] {
              var c = Case(fn: fn)
              c.args[0] = .bytes(Array(String(repeating: "a", count: max(length, 0)).utf8))
              c.args[1] = .bytes(Array(p.utf8))
              c.nargs = 2
              if fn == "gsub" {
                c.args[2] = .bytes(Array("<%0>".utf8))
                c.nargs = 3
              }
              cases.append(c)
            }
          }
        }
      }
    }
    return cases
  }

  static func compare(_ cases: [Case]) -> Int {
    let stock = Runner(ours: false)
    let ours = Runner(ours: true)
    var failures = 0
    for c in cases {
      let a = stock.run(c)
      let b = ours.run(c)
      if a != b {
        failures += 1
        if failures <= 5 {
          Issue.record(
            """
            \(c)
              Lua:  \(String(decoding: a, as: UTF8.self))
              ours: \(String(decoding: b, as: UTF8.self))
            """)
        }
      }
    }
    return failures
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

  /// Hand-written calls, one feature each; `expect`, when given, must occur in Lua's own
  /// output (so that each message the pattern functions can raise is covered).
  static let handWritten: [(String, String?)] = [
    // anchors
    (#"string.find("hello", "^h")"#, nil), (#"string.find("hello", "^e")"#, "2[true,nil]"),
    (#"string.find("hello", "o$")"#, nil), (#"string.find("hel$lo", "l$l")"#, nil),
    (#"string.match("a$", "a$")"#, nil), (#"string.find("a^b", "a^b")"#, nil),
    (#"string.gsub("hello", "^h", "H")"#, nil), (#"string.gsub("aaa", "^a", "b")"#, nil),
    (#"string.gsub("aaa", "^", "x")"#, nil), (#"string.gsub("aaa", "$", "x")"#, nil),
    (#"ALL(string.gmatch("^a^a", "^a"))"#, nil), (#"string.find("abc", "^", 2)"#, nil),
    (#"string.match("abc", "^(.)", -1)"#, nil), (#"string.find("", "^$")"#, nil),
    (#"string.find("abc", "^b", 2)"#, nil), (#"string.match("\n", "^$")"#, nil),
    // %b
    (#"string.match("x(a(b)c)y", "%b()")"#, #"s"(a(b)c)""#), (#"string.match("((", "%b()")"#, nil),
    (#"string.find("[[]]", "%b[]")"#, nil), (#"string.gsub("f(a)(b)", "%b()", "X")"#, nil),
    (#"string.match("xaxbx", "%bxx")"#, nil),
    (#"string.match("abc", "%b")"#, "missing arguments to '%b'"),
    (#"string.match("abc", "%ba")"#, "malformed pattern (missing arguments to '%b')"),
    (#"string.match("((a)", "%b()")"#, nil), (#"string.match("a(b", "%b()")"#, nil),
    // %f
    (#"string.gsub("THE (quick) fox", "%f[%a]%a+", "W")"#, nil),
    (#"string.find("hello", "%f[%l]")"#, nil),
    (#"string.find("abc", "%f[%z]")"#, nil), (#"string.find("ab1", "%f[%d]")"#, nil),
    (#"string.gsub("the cat", "%f[%w]%w+%f[%W]", "<%0>")"#, nil),
    (#"string.match("abc", "%f")"#, "missing '[' after '%f' in pattern"),
    (#"string.match("abc", "%fa")"#, "missing '[' after '%f' in pattern"),
    (#"string.match("abc", "%f[a")"#, "malformed pattern (missing ']')"),
    // back-references
    (#"string.match('say "hi" now', "([\"'])(.-)%1")"#, nil),
    (#"string.find("abab", "(ab)%1")"#, nil),
    (#"string.match("aa", "%0")"#, "invalid capture index %0"),
    (#"string.match("aa", "(a)%2")"#, "invalid capture index %2"),
    (#"string.match("a", "(a%1)")"#, "invalid capture index %1"),
    (#"string.match("xx", "()%1")"#, nil),
    (#"string.find("abcabc", "(a(b)c)%1%2")"#, nil), (#"string.match("aAa", "(a)%1")"#, nil),
    // position captures
    (#"string.find("hello", "()ll()")"#, nil), (#"string.match("hello", "()")"#, nil),
    (#"string.gsub("abc", "()", "%1")"#, nil), (#"string.gsub("abc", "()b", {[2] = "X"})"#, nil),
    (#"ALL(string.gmatch("abc", "()"))"#, nil), (#"string.match("abc", "()(b)()", 2)"#, nil),
    (#"string.gsub("abc", "()(.)", function(p, c) return p .. c end)"#, nil),
    // empty matches in gmatch and gsub
    (#"string.gsub("abc", "", "-")"#, nil), (#"string.gsub("abc", "x*", "-")"#, nil),
    (#"string.gsub("hello world", "%w*", "<%0>")"#, nil),
    (#"ALL(string.gmatch("abc", "x*"))"#, nil),
    (#"ALL(string.gmatch("a,b,,c", "([^,]*)"))"#, nil), (#"ALL(string.gmatch("abc", "a*"))"#, nil),
    (#"string.gsub("", "", "x")"#, nil), (#"string.gsub("abc", ".-", "-")"#, nil),
    // gmatch's init
    (#"ALL(string.gmatch("abcabc", "b", 3))"#, nil), (#"ALL(string.gmatch("abc", ".", -1))"#, nil),
    (#"ALL(string.gmatch("abc", ".", 10))"#, nil), (#"ALL(string.gmatch("abc", "()", 4))"#, nil),
    (#"ALL(string.gmatch("abc", "()", 5))"#, nil), (#"ALL(string.gmatch("abc", ".", 0))"#, nil),
    (#"ALL(string.gmatch("abc", ".", -100))"#, nil),
    (#"string.gmatch("abc", ".", "x")"#, "bad argument #3 to 'gmatch'"),
    // init of find and match
    (#"string.find("abc", "b", -1)"#, nil), (#"string.find("abc", "b", -2)"#, nil),
    (#"string.find("abc", "b", 0)"#, nil),
    (#"string.find("abc", "", 4)"#, "3[true,integer:4,integer:3]"),
    (#"string.find("abc", "", 5)"#, "2[true,nil]"), (#"string.find("abc", "b", -100)"#, nil),
    (#"string.find("abc", "b", math.mininteger)"#, nil),
    (#"string.find("abc", "b", math.maxinteger)"#, nil),
    (#"string.match("abc", ".", 1.0)"#, nil), (#"string.find("abc", "b", "2")"#, nil),
    (#"string.find("abc", "b", 1.5)"#, "number has no integer representation"),
    (#"string.find("abc", "b", "x")"#, "bad argument #3 to 'find' (number expected, got string)"),
    (#"string.match("abc", "()", 4)"#, nil), (#"string.match("abc", "()", 5)"#, nil),
    (#"string.find("abc", "[a-c]+", -2)"#, nil),
    // plain search and the no-specials path
    (#"string.find("a.b", ".", 1, true)"#, nil), (#"string.find("a+b", "+", 1, true)"#, nil),
    (#"string.find("a+b", "+")"#, nil), (#"string.find("a)b", ")")"#, nil),
    (#"string.match("a)b", ")")"#, "invalid pattern capture"),
    (#"string.find("abc", "", 2, true)"#, nil),
    (#"string.find("a%b", "%", 1, true)"#, nil), (#"string.find("abc", "%", 1, true)"#, nil),
    (#"string.find("abcabc", "ca", 1, 1)"#, nil), (#"string.find("aaab", "aab")"#, nil),
    (#"string.find("abc", "abcd")"#, nil), (#"string.find("a]b", "]")"#, nil),
    (#"string.find("abc", "b", 1, false)"#, nil), (#"string.find("ab\0c", "b\0c")"#, nil),
    // gsub replacements
    (#"string.gsub("hello world", "(o)", "[%1%%]")"#, nil),
    (#"string.gsub("abc", "b", "%2")"#, "invalid capture index %2"),
    (#"string.gsub("abc", "(b)", "%2")"#, "invalid capture index %2"),
    (#"string.gsub("abc", "b", "%x")"#, "invalid use of '%' in replacement string"),
    (#"string.gsub("abc", "b", "%")"#, "invalid use of '%' in replacement string"),
    (#"string.gsub("abc", "b", "%1")"#, nil), (#"string.gsub("abc", "b", "%0%0")"#, nil),
    (#"string.gsub("abc", "b", 5)"#, nil), (#"string.gsub("abc", "b", 1.5)"#, nil),
    (#"string.gsub("abc", "(b)", {b = "B"})"#, nil),
    (#"string.gsub("abc", "(b)", {b = false})"#, nil),
    (#"string.gsub("abc", "(b)", {b = 1})"#, nil), (#"string.gsub("abc", "(b)", {b = 2.5})"#, nil),
    (#"string.gsub("abc", "(b)", {b = {}})"#, "invalid replacement value (a table)"),
    (
      #"string.gsub("abc", "b", function() return true end)"#,
      "invalid replacement value (a boolean)"
    ),
    (
      #"string.gsub("abc", "%w", function(c) if c == "b" then return nil end return c:upper() end)"#,
      nil
    ),
    (#"string.gsub("abc", "%w", function() return false end)"#, nil),
    (#"string.gsub("abc", "%w", function(c) return #c end)"#, nil),
    (##"string.gsub("abc", "(a)(b)(c)", function(...) return select("#", ...) end)"##, nil),
    (#"string.gsub("abc", "b", function() error("boom") end)"#, "boom"),
    (#"string.gsub("abc", "(b", "%1")"#, "unfinished capture"),
    (#"string.gsub("abc", "(b", "x")"#, nil),
    (#"string.gsub("abc", "(b", {})"#, "unfinished capture"),
    (
      #"string.gsub("abc", "b", setmetatable({}, {__index = function(_, k) return k .. k end}))"#,
      nil
    ),
    // gsub's limit
    (#"string.gsub("aaa", "a", "b", 2)"#, nil), (#"string.gsub("aaa", "a", "b", 0)"#, nil),
    (#"string.gsub("aaa", "a", "b", -1)"#, nil), (#"string.gsub("aaa", "a", "b", 2.0)"#, nil),
    (#"string.gsub("aaa", "a", "b", "2")"#, nil), (#"string.gsub("aaa", "a", "b", nil)"#, nil),
    (
      #"string.gsub("aaa", "a", "b", 1.5)"#,
      "bad argument #4 to 'gsub' (number has no integer representation)"
    ),
    (
      #"string.gsub("aaa", "a", nil, "x")"#,
      "bad argument #4 to 'gsub' (number expected, got string)"
    ),
    (
      #"string.gsub("aaa", "a", true)"#,
      "bad argument #3 to 'gsub' (string/function/table expected, got boolean)"
    ),
    (
      #"string.gsub("aaa", "a")"#,
      "bad argument #3 to 'gsub' (string/function/table expected, got no value)"
    ),
    (#"("aaa"):gsub("a", true)"#, "bad argument #2 to 'gsub'"),
    // pattern errors
    (#"string.find("abc", "%")"#, "malformed pattern (ends with '%')"),
    (#"string.find("a", "[a")"#, "malformed pattern (missing ']')"),
    (#"string.find("b", "a[")"#, "2[true,nil]"),  // never reached: no error
    (#"string.find("a", "[]")"#, "malformed pattern (missing ']')"),
    (#"string.find("a", "[^]")"#, "malformed pattern (missing ']')"),
    (#"string.find("a", "[a%")"#, "malformed pattern (missing ']')"),
    (#"string.match("a", "a)")"#, "invalid pattern capture"),
    (#"string.match("a", "(a")"#, "unfinished capture"),
    (#"string.find("a", "(a")"#, "unfinished capture"),
    (#"string.match(("a"):rep(40), ("(a)"):rep(33))"#, "too many captures"),
    (#"string.match(("a"):rep(40), ("(a)"):rep(32))"#, nil),
    (#"string.match(("a"):rep(300), ("a?"):rep(300))"#, "pattern too complex"),
    (#"string.match(("a"):rep(199), ("a?"):rep(199))"#, nil),
    (#"string.match("a", ("a-"):rep(250))"#, "pattern too complex"),
    (#"string.match("", ("a-"):rep(250))"#, nil),
    // argument errors
    (#"string.find(nil, "a")"#, "bad argument #1 to 'find' (string expected, got nil)"),
    (#"string.find("a")"#, "bad argument #2 to 'find' (string expected, got no value)"),
    (#"string.match({}, "a")"#, "bad argument #1 to 'match' (string expected, got table)"),
    (#"string.gmatch("a", {})"#, "bad argument #2 to 'gmatch' (string expected, got table)"),
    (#"string.gsub("a", "a", "b", {})"#, "bad argument #4 to 'gsub' (number expected, got table)"),
    (#"("a"):find({})"#, "bad argument #1 to 'find'"),
    (#"select(2, pcall(string.find))"#, "string.find"),
    // numbers as strings
    (#"string.find(12345, 3)"#, nil), (#"string.match(3.5, "%d")"#, nil),
    (#"string.gsub(100, 0, 1)"#, nil),
    (#"ALL(string.gmatch(123, "%d"))"#, nil), (#"string.gsub("abc", "b", 2^53)"#, nil),
    (#"string.gsub(1e100, "%d", "")"#, nil), (#"string.gsub("x", "x", -0.0)"#, nil),
    // bytes 0 and >= 0x80
    (#"string.find("a\0b", "\0")"#, nil), (#"string.match("a\0b", "%z")"#, nil),
    (#"string.match("a\0b", "[\0]")"#, nil), (#"string.find("a\0b", "a\0", 1, true)"#, nil),
    (#"string.find("a\0b", ".\0b")"#, nil), (#"string.match("\200\255", "[\128-\255]+")"#, nil),
    (#"string.match("a\0b", "%Z+")"#, nil), (#"string.gsub("a\0b\0", "%z", "0")"#, nil),
    (#"string.match("x%\0", "%%%z")"#, nil), (#"string.match("\0", "%\0")"#, nil),
    // sets
    (#"string.match("a]b", "[]]")"#, nil), (#"string.match("]]a", "[^]]")"#, nil),
    (#"string.match("-a", "[a-]+")"#, nil), (#"string.match("-a", "[-a]+")"#, nil),
    (#"string.match("b-", "[%-a]")"#, nil), (#"string.match("%]", "[%]]+")"#, nil),
    (#"string.match("^x", "[x^]+")"#, nil), (#"string.match("^x", "[^^]")"#, nil),
    (#"string.match("abc-", "[a-]]")"#, nil), (#"string.match("c", "[a-c-e]")"#, nil),
    (#"string.match("d", "[a-c-e]")"#, nil), (#"string.match("-", "[a-c-e]")"#, nil),
    (#"string.match("x1_", "[%w_]+")"#, nil), (#"string.match("x1_ ", "[^%s]+")"#, nil),
    // quantifier order: greedy longest first, lazy shortest first, '?' with and without
    (#"string.match("aaab", "(a*)(a*)b")"#, nil), (#"string.match("aaab", "(a-)(a*)b")"#, nil),
    (#"string.match("aaa", "(a+)(a+)")"#, nil), (#"string.match("ab", "(a?)(a?b)")"#, nil),
    (#"string.match("<a><b>", "<(.-)>")"#, nil), (#"string.match("<a><b>", "<(.*)>")"#, nil),
    (#"string.find("key = value", "(%w+)%s*=%s*(%w+)")"#, nil), (#"string.match("**", "**")"#, nil),
    (#"string.match("a", "a**")"#, nil), (#"string.match("++", "+")"#, nil),
    // the gmatch iterator's depth counter across errors, as in Lua 5.4.4
    (
      #"(function() local it = string.gmatch(("a"):rep(250), ("a?"):rep(250)) return ALL(it) end)()"#,
      "pattern too complex"
    ),
    (
      #"(function() local it = string.gmatch(("a"):rep(150), ("a?"):rep(150) .. "%9") return ALL(it) end)()"#,
      "pattern too complex"
    ),
    (#"(function() local it = string.gmatch("aaa", "a(%2)") return ALL(it) end)()"#, nil),
    (
      #"(function() local it = string.gmatch(("a"):rep(600), ("a?"):rep(600)) return ALL(it) end)()"#,
      nil
    ),
    (#"(function() local it = string.gmatch("abc", ".") it() return ALL(it) end)()"#, nil),
  ]

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
