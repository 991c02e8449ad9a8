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
    // Stack: environment, filter, min_candles, description, params, confirm_s, cooldown_s,
    // trigger (each nil when absent), timeframes...
    let env = top + 1
    let base = env  // the validator's results follow the environment
    let results = lua.top - base
    var timeframes: [String] = []
    if results > 7 {
      for i in 8...results { timeframes.append(lua.string(at: base + i) ?? "") }
    }
    var isNumber: Int32 = 0
    let minCandlesValue = clua_tointeger(L, base + 2, &isNumber)
    let minCandles = isNumber != 0 ? Int(minCandlesValue) : (timeframes.isEmpty ? 0 : 1)
    let description = lua_type(L, base + 3) == LUA_TSTRING ? lua.string(at: base + 3) : nil
    let defaults = paramValues(at: base + 4)
    let params = try merge(defaults, source.config.params, id: source.id)
    try installParams(params, environment: env)
    var confirmS = lua_type(L, base + 5) == LUA_TNUMBER ? lua_tonumberx(L, base + 5, nil) : 0
    var cooldownS = lua_type(L, base + 6) == LUA_TNUMBER ? lua_tonumberx(L, base + 6, nil) : 0
    var trigger = StrategyTrigger(rawValue: lua.string(at: base + 7) ?? "") ?? .change
    if let v = source.config.confirmS { confirmS = try Self.seconds(v) }
    if let v = source.config.cooldownS { cooldownS = try Self.seconds(v) }
    if let v = source.config.trigger {
      guard let t = StrategyTrigger(rawValue: v.text) else {
        throw EngineError(
          "\(v.source): expected \"change\" or \"close\", got \"\(v.text)\"", isConfiguration: true)
      }
      trigger = t
    }
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
      minCandles: minCandles, params: params, confirmS: confirmS, cooldownS: cooldownS,
      trigger: trigger)
    return Compiled(
      info: info, filterRef: filterRef, callClass: callClass, envGuard: envGuard,
      intervalIndices: timeframes.map { store.knownIntervalIndex($0) })
  }

  /// The params table the validator copied (at `idx`, or nil there): name → value. Read raw
  /// from a plain table the validator made, so no strategy code runs.
  private func paramValues(at idx: Int32) -> [String: ParamValue] {
    guard lua_type(L, idx) == LUA_TTABLE else { return [:] }
    var values: [String: ParamValue] = [:]
    lua_pushnil(L)
    while lua_next(L, idx) != 0 {
      if let name = state.lua.string(at: -2) {
        switch lua_type(L, -1) {
        case LUA_TNUMBER:
          values[name] =
            lua_isinteger(L, -1) != 0
            ? .integer(Int64(lua_tointegerx(L, -1, nil))) : .number(lua_tonumberx(L, -1, nil))
        case LUA_TBOOLEAN: values[name] = .boolean(lua_toboolean(L, -1) != 0)
        case LUA_TSTRING: values[name] = .string(state.lua.string(at: -1) ?? "")
        default: break
        }
      }
      clua_pop(L, 1)
    }
    return values
  }

  /// The defaults with the overrides applied; an override of a param the strategy does not
  /// declare, or of the wrong type, is a configuration error naming its source.
  private func merge(
    _ defaults: [String: ParamValue], _ overrides: [String: StrategyConfig.Value], id: String
  ) throws(EngineError) -> [String: ParamValue] {
    var params = defaults
    for (name, value) in overrides.sorted(by: { $0.key < $1.key }) {
      guard let like = defaults[name] else {
        let declared = defaults.keys.sorted().joined(separator: ", ")
        throw EngineError(
          "\(value.source): strategy \(id) has no param '\(name)' "
            + (declared.isEmpty ? "(it declares none)" : "(it declares: \(declared))"),
          isConfiguration: true)
      }
      guard let v = ParamValue.parse(value.text, like: like) else {
        throw EngineError(
          "\(value.source): expected \(like.typeName), got \"\(value.text)\"",
          isConfiguration: true)
      }
      params[name] = v
    }
    return params
  }

  /// Sets the strategy's global `params` (read-only) in its environment at `environment`.
  private func installParams(_ params: [String: ParamValue], environment: Int32) throws(EngineError)
  {
    lua_createtable(L, 0, Int32(params.count))
    for (name, value) in params {
      switch value {
      case .integer(let i): lua_pushinteger(L, lua_Integer(i))
      case .number(let x): lua_pushnumber(L, x)
      case .string(let text): lua_pushstring(L, text)
      case .boolean(let b): lua_pushboolean(L, b ? 1 : 0)
      }
      lua_setfield(L, -2, name)
    }
    do {
      try state.makeReadonly(name: "params")
    } catch {
      throw EngineError("cannot set up params: \(error.message)")
    }
    lua_pushstring(L, "params")
    clua_insert(L, -2)
    lua_rawset(L, environment)
  }

  /// A number of seconds, at least 0, from a setting.
  private static func seconds(_ value: StrategyConfig.Value) throws(EngineError) -> Double {
    guard let x = Double(value.text), x.isFinite, x >= 0 else {
      throw EngineError(
        "\(value.source): expected a number of seconds (0 or more), got \"\(value.text)\"",
        isConfiguration: true)
    }
    return x
  }

  /// Checks the table a strategy returned; returns filter, min_candles, description, a copy of
  /// params, confirm_s, cooldown_s, trigger, then the timeframes. Runs in a protected call
  /// within the sandbox's limits: a hostile table cannot crash or stall the host.
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
      local p, params = rawget(t, "params"), nil
      if p ~= nil then
        if type(p) ~= "table" then error("'params' must be a table of name = value", 0) end
        params = {}
        local k, v = next(p)
        while k ~= nil do
          if type(k) ~= "string" or not k:match("^[%a_][%w_]*$") then
            error("'params' keys must be names like period, got " .. tostring(k), 0)
          end
          local tv = type(v)
          if tv ~= "number" and tv ~= "string" and tv ~= "boolean" then
            error("params." .. k .. " must be a number, a string or a boolean, got " .. tv, 0)
          end
          if tv == "number" and v ~= v then error("params." .. k .. " must not be NaN", 0) end
          params[k] = v
          k, v = next(p, k)
        end
      end
      local function seconds(name)
        local x = rawget(t, name)
        if x ~= nil and (type(x) ~= "number" or x < 0 or x ~= x or x == math.huge) then
          error("'" .. name .. "' must be a number of seconds, 0 or more", 0)
        end
        return x
      end
      local confirm, cooldown = seconds("confirm_s"), seconds("cooldown_s")
      local trigger = rawget(t, "trigger")
      if trigger ~= nil and trigger ~= "change" and trigger ~= "close" then
        error("'trigger' must be \"change\" or \"close\"", 0)
      end
      return f, mc, d, params, confirm, cooldown, trigger, unpack(list)
    end
    """#
}
