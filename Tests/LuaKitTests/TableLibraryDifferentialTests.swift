import CLua
import CLuaHost
import Testing

/// The table functions the sandbox reimplements to charge each element (insert, remove, move,
/// concat, unpack, sort) against Lua 5.4's own, on generated cases: the same results, the same
/// errors, the same final contents and the same sequence of metamethod calls.
@Suite("Table functions match Lua's")
struct TableLibraryDifferentialTests {
  /// Generates `count` cases from `seed` and returns one line per case: what was called, its
  /// results or error, the table's contents after, and the log of metamethod calls.
  static let generator = #"""
    local seed, count = ...
    local function rnd(n)
      seed = (seed * 6364136223846793005 + 1442695040888963407)
      return ((seed >> 33) % n) + 1
    end
    local function show(v)
      local t = type(v)
      if t == "string" then return string.format("%q", v) end
      if t == "table" then return "table" end
      return tostring(v)
    end
    local lines = {}
    for case = 1, count do
      local log, n = {}, rnd(9) - 1
      local backing = {}
      for i = 1, n do
        local r = rnd(10)
        if r <= 5 then backing[i] = rnd(20) elseif r <= 8 then backing[i] = "s" .. rnd(20)
        elseif r == 9 then backing[i] = rnd(2) == 1 else backing[i] = nil end
      end
      local t = backing
      if rnd(3) == 1 then
        local fakelen = rnd(4) == 1 and (n + rnd(3) - 2) or nil
        t = setmetatable({}, {
          __index = function(_, k) log[#log + 1] = "r" .. show(k) return backing[k] end,
          __newindex = function(_, k, v) log[#log + 1] = "w" .. show(k) .. "=" .. show(v) backing[k] = v end,
          __len = function() log[#log + 1] = "#" return fakelen or #backing end,
        })
      end
      local function int()
        local r = rnd(12)
        if r == 1 then return math.maxinteger elseif r == 2 then return math.mininteger
        elseif r == 3 then return -rnd(3) elseif r == 4 then return 0 end
        return rnd(12)
      end
      local what, args
      local f = rnd(9)
      if f == 1 then what, args = "insert", { t, "v" .. rnd(9) }
      elseif f == 2 then what, args = "insert", { t, int(), "v" .. rnd(9) }
      elseif f == 3 then what, args = "insert", { t, 1, 2, 3 }
      elseif f == 4 then what, args = "remove", rnd(2) == 1 and { t } or { t, int() }
      elseif f == 5 then
        -- Ranges Lua's own finishes: at most a few elements (or none, or an error).
        local dest = rnd(3) == 1 and {} or nil
        local from = int()
        local last = from
        local step = rnd(8) - 3
        if step > 0 and from <= math.maxinteger - step then last = from + step
        elseif step < 0 and from >= math.mininteger - step then last = from + step end
        if rnd(6) == 1 then last = math.maxinteger end
        if from > 0 and last - from > 10 then last = from + 5 end
        what, args = "move", { t, from, last, int(), dest }
      elseif f == 6 then
        local r = rnd(4)
        what, args = "concat", r == 1 and { t } or r == 2 and { t, "," } or { t, "-", int(), int() }
      elseif f == 7 then
        local r = rnd(3)
        what, args = "unpack", r == 1 and { t } or r == 2 and { t, int() } or { t, int(), int() }
      elseif f == 8 then
        -- sortable contents: numbers only, or strings only
        for i = 1, n do backing[i] = (rnd(2) == 1) and rnd(6) or nil end
        for i = 1, n do if backing[i] == nil then backing[i] = rnd(6) end end
        local c = rnd(5)
        local cmp = c == 2 and function(a, b) return a > b end
          or c == 3 and function(a, b) return true end
          or c == 4 and function(a, b) return a < b or rnd(4) == 1 end
          or c == 5 and function(a, b) if a == 3 then error("cmp") end return a < b end
          or nil
        what, args = "sort", { t, cmp }
      else
        what, args = "unpack", { backing, int(), int() }
      end
      local results = table.pack(pcall(table[what], table.unpack(args, 1, 5)))
      local parts = { what }
      for i = 1, results.n do parts[#parts + 1] = show(results[i]) end
      parts[#parts + 1] = "|"
      for i = 1, 12 do parts[#parts + 1] = show(rawget(backing, i)) end
      parts[#parts + 1] = "|"
      for i = 1, #log do parts[#parts + 1] = log[i] end
      lines[#lines + 1] = string.format("%d: %s", case, table.concat(parts, " "))
    end
    return table.concat(lines, "\n")
    """#

  /// Larger sorts: random distinct numbers or strings, with and without an order function;
  /// the sorted result must be the same.
  static let sorts = #"""
    local seed, count = ...
    local function rnd(n)
      seed = (seed * 6364136223846793005 + 1442695040888963407)
      return ((seed >> 33) % n) + 1
    end
    local lines = {}
    for case = 1, count do
      local n, t, used = rnd(400), {}, {}
      local strings = rnd(2) == 1
      while #t < n do
        local v = rnd(100000)
        if not used[v] then used[v] = true t[#t + 1] = strings and ("k" .. v) or v end
      end
      if rnd(2) == 1 then table.sort(t) else table.sort(t, function(a, b) return a > b end) end
      local parts = {}
      for i = 1, #t do parts[i] = tostring(t[i]) end
      lines[#lines + 1] = table.concat(parts, ",")
    end
    return table.concat(lines, "\n")
    """#

  /// Runs `script(seed, count)` in a fresh state with Lua's libraries, the table functions
  /// replaced by the bounded ones when `bounded`.
  static func transcript(_ script: String, seed: Int, count: Int, bounded: Bool) -> String {
    guard let L = luaL_newstate() else { return "no state" }
    defer { lua_close(L) }
    luaL_openlibs(L)
    if bounded { clua_boundlibraries(L) }
    guard luaL_loadstring(L, script) == LUA_OK else { return "load: \(message(L))" }
    lua_pushinteger(L, lua_Integer(seed))
    lua_pushinteger(L, lua_Integer(count))
    guard clua_pcall(L, 2, 1, 0) == LUA_OK else { return "run: \(message(L))" }
    return message(L)
  }

  static func message(_ L: OpaquePointer) -> String {
    var length = 0
    guard let p = lua_tolstring(L, -1, &length) else { return "(not a string)" }
    return String(decoding: UnsafeRawBufferPointer(start: p, count: length), as: UTF8.self)
  }

  @Test("results, errors, contents and metamethod calls as Lua's own", arguments: [1, 2, 3, 4])
  func differential(seed: Int) {
    let stock = Self.transcript(Self.generator, seed: seed, count: 1500, bounded: false)
    let ours = Self.transcript(Self.generator, seed: seed, count: 1500, bounded: true)
    #expect(stock.count > 10_000)
    let a = stock.split(separator: "\n")
    let b = ours.split(separator: "\n")
    #expect(a.count == b.count)
    for (x, y) in zip(a, b) where x != y {
      Issue.record("differs:\n  Lua:  \(x)\n  ours: \(y)")
      break
    }
  }

  @Test("large sorts give Lua's order")
  func largeSorts() {
    let stock = Self.transcript(Self.sorts, seed: 7, count: 60, bounded: false)
    let ours = Self.transcript(Self.sorts, seed: 7, count: 60, bounded: true)
    #expect(stock.count > 1000)
    #expect(stock == ours)
  }
}
