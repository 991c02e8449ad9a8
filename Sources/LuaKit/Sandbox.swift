import CLua

/// The one place that defines what a strategy can reach (after Redis's `scriptingEnableGlobalsProtection`
/// and Suricata's restricted states, see `shared/research/sandbox.md`).
///
/// The host opens only `base`, `string`, `table`, `math` and `utf8`, then runs ``prelude``
/// with full access. The prelude keeps private references to what it needs, protects the
/// string metatable, and returns `new_env(id)`: a fresh environment per strategy whose
/// `__index` is a read-only table of allow-listed globals. A strategy's own globals live in
/// its own environment, so no strategy sees or changes another's. Library tables are
/// read-only proxies; `load` accepts text chunks only and defaults to the caller's
/// environment; `print` writes to stderr (stdout carries the diffs).
/// Never exposed: `os io debug package dofile loadfile collectgarbage string.dump`.
public enum Sandbox {
  static let prelude = #"""
    local host_print = ...
    local G = _G
    local setmetatable, getmetatable, rawget, rawset, rawequal, rawlen =
      setmetatable, getmetatable, rawget, rawset, rawequal, rawlen
    local error, type, next, select, tostring, load, pairs =
      error, type, next, select, tostring, load, pairs
    local tconcat = table.concat

    local function readonly(t, name)
      return setmetatable({}, {
        __index = t,
        __newindex = function() error("attempt to modify read-only table '" .. name .. "'", 2) end,
        __pairs = function() return next, t, nil end,
        __len = function() return rawlen(t) end,
        __metatable = false,
      })
    end

    local function copy(t, skip)
      local c = {}
      for k, v in pairs(t) do if not (skip and skip[k]) then c[k] = v end end
      return c
    end

    -- The string metatable is shared by every string in the state: protect it.
    local smt = getmetatable("")
    smt.__metatable = false
    smt.__newindex = nil

    local base = {
      assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs,
      pcall = pcall, rawequal = rawequal, rawget = rawget, rawlen = rawlen, select = select,
      tonumber = tonumber, tostring = tostring, type = type, xpcall = xpcall,
      getmetatable = getmetatable, setmetatable = setmetatable, _VERSION = _VERSION,
      string = readonly(copy(string, { dump = true }), "string"),
      table = readonly(copy(table), "table"),
      math = readonly(copy(math), "math"),
      utf8 = readonly(copy(utf8), "utf8"),
    }
    -- rawset would bypass the read-only proxies (views, libraries): refuse protected tables.
    base.rawset = function(t, k, v)
      if getmetatable(t) == false then error("attempt to modify a read-only table", 2) end
      return rawset(t, k, v)
    end
    base.print = function(...)
      local n = select("#", ...)
      local parts = {}
      for i = 1, n do parts[i] = tostring((select(i, ...))) end
      host_print(tconcat(parts, "\t"))
    end
    local extras = {}
    local shared = setmetatable({}, {
      __index = function(_, k)
        local v = base[k]
        if v == nil then v = extras[k] end
        return v
      end,
      __newindex = function() error("attempt to modify the shared globals", 2) end,
      __metatable = false,
    })

    local function new_env(id)
      local env = setmetatable({}, { __index = shared, __metatable = false })
      env._G = env
      env.load = function(chunk, name, mode, e)
        if mode ~= nil and mode ~= "t" then return nil, "only text chunks can be loaded" end
        if e == nil then e = env end
        return load(chunk, name, "t", e)
      end
      return env
    end

    -- `add_global(name, value)`: the host adds a library (e.g. `ta`) visible to all.
    local function add_global(name, value) extras[name] = value end

    return new_env, add_global, readonly
    """#

  /// Opens the safe libraries and installs the sandbox. Returns registry references to
  /// `new_env`, `add_global` and `readonly`.
  static func install(in state: LuaState) throws(LuaError) -> (
    newEnv: Int32, addGlobal: Int32, readonly: Int32
  ) {
    let L = state.L
    luaL_requiref(L, "_G", luaopen_base, 1)
    luaL_requiref(L, "string", luaopen_string, 1)
    luaL_requiref(L, "table", luaopen_table, 1)
    luaL_requiref(L, "math", luaopen_math, 1)
    luaL_requiref(L, "utf8", luaopen_utf8, 1)
    state.top = 0
    // Remove what a strategy must never reach, even through the prelude's `_G`.
    for name in ["dofile", "loadfile", "collectgarbage"] {
      lua_pushnil(L)
      lua_setglobal(L, name)
    }
    try state.load(prelude, chunkName: "=sandbox")
    state.push(hostPrint)
    try state.protectedCall(arguments: 1, results: 3)
    let readonly = state.ref()
    let addGlobal = state.ref()
    let newEnv = state.ref()
    return (newEnv, addGlobal, readonly)
  }

  /// `print` for strategies: one line on stderr.
  static let hostPrint: clua_SwiftFunction = { L in
    var length = 0
    if let p = lua_tolstring(L, 1, &length) {
      var bytes = Array(UnsafeRawBufferPointer(start: p, count: length))
      bytes.append(UInt8(ascii: "\n"))
      StandardError.write(bytes)
    }
    return 0
  }
}
