import CLua
import CLuaHost
import Support

/// The one place that defines what a strategy can reach (after Redis's
/// `scriptingEnableGlobalsProtection` and Suricata's restricted states).
///
/// The host opens only `base`, `string`, `table`, `math` and `utf8`, then runs ``prelude``
/// with full access. The prelude keeps private references to what it needs, protects the
/// string metatable, and returns `new_env(id)`: a fresh environment per strategy whose
/// `__index` is a read-only table of allow-listed globals. A strategy's own globals live in
/// its own environment, so no strategy sees or changes another's. Library tables are
/// read-only proxies; `load` accepts text chunks only and defaults to the caller's
/// environment; `print` writes to stderr (stdout carries the diffs).
/// Never exposed: `os io debug package dofile loadfile collectgarbage string.dump`, nor
/// `__gc` metamethods. `require` loads only plugins the host handed over. Every library
/// function whose work grows with its arguments charges that work to the call's budget
/// (`clua_boundlibraries`), so no call runs unbounded inside C.
public enum Sandbox {
  static let prelude = #"""
    local host_print, note_metatable, charge = ...
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
        -- The iterator hides `t`: `next, t` would hand the table itself to the caller
        -- (`local _, raw = pairs(proxy)`), and a rawset there would bypass the proxy.
        __pairs = function() return function(_, k) return next(t, k) end, nil, nil end,
        __len = function() return rawlen(t) end,
        __metatable = false,
      })
    end

    local function copy(t, skip)
      local c = {}
      for k, v in pairs(t) do if not (skip and skip[k]) then c[k] = v end end
      return c
    end

    -- The string metatable is shared by every string in the state: protect it, and make
    -- methods (`s:rep(3)`) reach the same functions as `string.rep` (not `string.dump`).
    local strings = copy(string, { dump = true })
    local smt = getmetatable("")
    smt.__metatable = false
    smt.__newindex = nil
    smt.__index = strings

    local base = {
      assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs,
      pcall = pcall, rawequal = rawequal, rawget = rawget, rawlen = rawlen, select = select,
      tonumber = tonumber, tostring = tostring, type = type, xpcall = xpcall,
      getmetatable = getmetatable, _VERSION = _VERSION,
      string = readonly(strings, "string"),
      table = readonly(copy(table), "table"),
      math = readonly(copy(math), "math"),
      utf8 = readonly(copy(utf8), "utf8"),
    }
    -- A __gc metamethod would run strategy code during any later allocation, even host
    -- work outside a protected call and outside the instruction budget: refuse it.
    -- note_metatable: from now on every filter call in this state is counted by the
    -- instruction budget (a metamethod may run Lua code a filter's own code does not name).
    base.setmetatable = function(t, mt)
      if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
        error("__gc metamethods are not allowed in strategies", 2)
      end
      note_metatable()
      -- Errors (a protected metatable, a bad argument) name the strategy's line, not this one.
      local ok, result = pcall(setmetatable, t, mt)
      if not ok then error(result, 2) end
      return result
    end
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
    local added = {}
    local function new_env(id)
      -- `__index` is the globals table itself, not a function: a global read (`ta`, `math`)
      -- is then one table lookup in the VM, where a Lua `__index` function cost a call per
      -- read. Strategies cannot reach `base` (the
      -- metatable is hidden), so it stays read-only to them.
      local env = setmetatable({}, { __index = base, __metatable = false })
      env._G = env
      -- The host's libraries (`ta`) and `math` sit in the environment itself: read in filter
      -- calls, they then cost no miss and metatable hop first, and the
      -- engine can check from there that a filter calling them still calls the host's (see
      -- `clua_filterclass`). A strategy that assigns `ta` or `math` still changes only its own
      -- global, as for any other name (and assigning nil shows the shared one again).
      for name in next, added do env[name] = base[name] end
      env.math = base.math
      -- Compiling is work done in C: charged by the length of the text.
      env.load = function(chunk, name, mode, e)
        if mode ~= nil and mode ~= "t" then return nil, "only text chunks can be loaded" end
        if e == nil then e = env end
        if type(chunk) == "string" then
          charge(#chunk // 16)
        elseif type(chunk) == "function" then
          local read = chunk
          chunk = function()
            local piece = read()
            if type(piece) == "string" then charge(#piece // 16) end
            return piece
          end
        end
        return load(chunk, name, "t", e)
      end
      return env
    end

    -- `add_global(name, value)`: the host adds a library (e.g. `ta`) visible to all; the
    -- built-in globals above keep their meaning.
    local function add_global(name, value)
      if base[name] ~= nil and not added[name] then return end
      added[name] = true
      base[name] = value
    end

    -- Plugins: `require(name)` loads the plugin's source (handed over by the host from the
    -- plugins directory, nothing else) once per state, in an environment of its own, and
    -- returns its value; a table value is returned read-only, as it is shared.
    local plugin_sources, plugin_values, plugin_loading = {}, {}, {}
    local function set_plugin(name, path, source)
      plugin_sources[name] = source and { path = path, source = source } or nil
      plugin_values[name] = nil
    end
    local function clear_plugin_values()
      for k in pairs(plugin_values) do plugin_values[k] = nil end
    end
    base.require = function(name)
      if type(name) ~= "string" then error("require expects a plugin name", 2) end
      local value = plugin_values[name]
      if value ~= nil then return value end
      local p = plugin_sources[name]
      if not p then error("plugin '" .. name .. "' not found in the plugins directory", 2) end
      if plugin_loading[name] then error("plugin '" .. name .. "' requires itself", 2) end
      plugin_loading[name] = true
      local f, err = load(p.source, "@" .. p.path, "t", new_env("plugin:" .. name))
      if not f then
        plugin_loading[name] = nil
        error(err, 0)
      end
      local ok, result = pcall(f, name)
      plugin_loading[name] = nil
      if not ok then error(result, 0) end
      if result == nil then result = true end
      if type(result) == "table" then result = readonly(result, name) end
      plugin_values[name] = result
      return result
    end

    return new_env, add_global, readonly, set_plugin, clear_plugin_values
    """#

  /// Opens the safe libraries and installs the sandbox. Returns registry references to
  /// `new_env`, `add_global` and `readonly`.
  static func install(in state: LuaState) throws(LuaError) -> (
    newEnv: Int32, addGlobal: Int32, readonly: Int32, setPlugin: Int32, clearPlugins: Int32
  ) {
    let L = state.L
    luaL_requiref(L, "_G", luaopen_base, 1)
    luaL_requiref(L, "string", luaopen_string, 1)
    luaL_requiref(L, "table", luaopen_table, 1)
    luaL_requiref(L, "math", luaopen_math, 1)
    luaL_requiref(L, "utf8", luaopen_utf8, 1)
    state.top = 0
    clua_boundlibraries(L)
    // Remove what a strategy must never reach, even through the prelude's `_G`.
    for name in ["dofile", "loadfile", "collectgarbage"] {
      lua_pushnil(L)
      lua_setglobal(L, name)
    }
    try state.load(prelude, chunkName: "=sandbox")
    state.push(hostPrint)
    lua_pushcclosure(L, clua_notemetatable, 0)
    lua_pushcclosure(L, clua_chargeunits, 0)
    try state.protectedCall(arguments: 3, results: 5)
    let clearPlugins = state.ref()
    let setPlugin = state.ref()
    let readonly = state.ref()
    let addGlobal = state.ref()
    let newEnv = state.ref()
    return (newEnv, addGlobal, readonly, setPlugin, clearPlugins)
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
