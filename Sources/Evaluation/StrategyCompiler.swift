import CLua
import CLuaHost
import LuaKit
import Support
import Tracking

extension StrategyRuntime {
  /// Compiles `source` into this state. On failure, the message is `path:line: message`.
  package func compile(_ source: StrategySource) throws(EngineError) -> Compiled {
    let lua = state.lua
    let top = lua.top
    defer { lua.top = top }
    do {
      try state.runChunk(source.source, path: source.path, id: source.id, keepingEnvironment: true)
      lua.push(ref: validatorRef)
      clua_insert(L, -2)
      // The table is the strategy's: reading it can run its metamethods.
      try state.callWithinLimits(arguments: 1, results: LUA_MULTRET)
    } catch {
      let message = restorePaths(error.message, source.path)
      throw EngineError(
        message.hasPrefix(source.path) ? message : "\(source.path): \(message)")
    }
    // Stack: environment, filter, min_candles (or nil), description (or nil), timeframes...
    let env = top + 1
    let base = env  // the validator's results follow the environment
    let results = lua.top - base
    var timeframes: [String] = []
    if results > 3 {
      for i in 4...results { timeframes.append(lua.string(at: base + i) ?? "") }
    }
    var isNumber: Int32 = 0
    let minCandlesValue = clua_tointeger(L, base + 2, &isNumber)
    let minCandles = isNumber != 0 ? Int(minCandlesValue) : (timeframes.isEmpty ? 0 : 1)
    let description = lua_type(L, base + 3) == LUA_TSTRING ? lua.string(at: base + 3) : nil
    var libraries: Int32 = 0
    var callClass = clua_filterclass(L, base + 1, lua_Integer(budget), env, &libraries)
    var envGuard: EnvGuard? = nil
    if callClass == 2 {
      let g = EnvGuard()
      let armed = hostLibraries.withUnsafeBufferPointer {
        clua_envguard_setup(L, g.pointer, env, libraries, $0.baseAddress)
      }
      if armed != 0 { envGuard = g } else { callClass = 1 }
    }
    lua_pushvalue(L, base + 1)
    let filterRef = lua.ref()
    let info = StrategyInfo(
      id: source.id, path: source.path, description: description, timeframes: timeframes,
      minCandles: minCandles)
    return Compiled(
      info: info, filterRef: filterRef, callClass: callClass, envGuard: envGuard,
      intervalIndices: timeframes.map { store.knownIntervalIndex($0) })
  }

  /// Checks the table a strategy returned; returns filter, min_candles, description,
  /// timeframes... Runs in a protected call: a hostile table cannot crash the host.
  static let validator = #"""
    local type, rawget, ipairs, error, mtype, unpack = type, rawget, ipairs, error, math.type, table.unpack
    return function(t)
      if type(t) ~= "table" then
        error("strategy must return a table, got " .. type(t), 0)
      end
      local f = rawget(t, "filter")
      if type(f) ~= "function" then
        error("strategy table needs a 'filter' function, got " .. type(f), 0)
      end
      local tf, list = rawget(t, "timeframes"), {}
      if tf ~= nil then
        if type(tf) ~= "table" then error("'timeframes' must be a list of interval names like {\"1m\"}", 0) end
        for i, v in ipairs(tf) do
          if type(v) ~= "string" or v == "" then error("'timeframes'[" .. i .. "] must be an interval name like \"1m\"", 0) end
          list[#list + 1] = v
        end
      end
      local mc = rawget(t, "min_candles")
      if mc ~= nil then
        if type(mc) ~= "number" or mc < 0 or mc ~= mc // 1 or mc > 1e9 then
          error("'min_candles' must be a non-negative integer", 0)
        end
        mc = mc // 1
        if mtype(mc) == "float" then mc = math.tointeger(mc) end
      end
      local d = rawget(t, "description")
      if d ~= nil and type(d) ~= "string" then error("'description' must be a string", 0) end
      return f, mc, d, unpack(list)
    end
    """#
}
