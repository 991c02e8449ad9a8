import CLua
import CLuaHost

#if canImport(Glibc)
  import Glibc
#endif

/// A Lua state with the sandbox installed, ready to run strategy chunks.
/// Owned by one thread for its whole life, like ``LuaState``.
public final class SandboxedState {
  public let lua: LuaState
  /// Lua instructions a chunk run may take (0: no limit); filter calls arm their own.
  public var instructionBudget: Int32 = 0
  private let newEnvRef: Int32
  private let addGlobalRef: Int32
  private let readonlyRef: Int32
  private let setPluginRef: Int32
  private let clearPluginsRef: Int32

  /// - Parameter memoryLimit: bytes the state may hold while strategy code runs.
  public init(memoryLimit: Int = 64 << 20) throws(LuaError) {
    lua = try LuaState(memoryLimit: memoryLimit)
    (newEnvRef, addGlobalRef, readonlyRef, setPluginRef, clearPluginsRef) = try Sandbox.install(
      in: lua)
    #if DEBUG
      // Tests of the stop path need a call stuck where nothing reaches it (debug builds only).
      if getenv("ENGINE_TEST_C_STALL") != nil {
        lua_pushcclosure(lua.L, clua_teststall, 0)
        try addGlobal("test_stall_in_c")
      }
    #endif
  }

  /// Makes `require(name)` load `source` (shown as `path` in messages); nil removes it.
  /// Forgets any loaded value of that plugin.
  public func setPlugin(_ name: String, path: String, source: String?) throws(LuaError) {
    lua.push(ref: setPluginRef)
    lua_pushstring(lua.L, name)
    lua_pushstring(lua.L, path)
    if let source { lua_pushstring(lua.L, source) } else { lua_pushnil(lua.L) }
    try lua.protectedCall(arguments: 3, results: 0)
  }

  /// Forgets every loaded plugin value (their sources stay), so the next `require` reloads.
  public func forgetPluginValues() throws(LuaError) {
    lua.push(ref: clearPluginsRef)
    try lua.protectedCall(arguments: 0, results: 0)
  }

  /// Compiles `source` (text only), runs it once in a fresh environment of its own and leaves
  /// its first return value on the stack (with `keepingEnvironment`, the environment below
  /// it). Errors carry `path:line:`.
  public func runChunk(
    _ source: String, path: String, id: String, keepingEnvironment: Bool = false
  ) throws(LuaError) {
    let L = lua.L
    try lua.load(source, path: path)
    lua.push(ref: newEnvRef)
    lua_pushstring(L, id)
    try lua.protectedCall(arguments: 1, results: 1)
    if keepingEnvironment {
      // chunk, env -> env, chunk, env
      lua_pushvalue(L, -1)
      clua_insert(L, -3)
    }
    // The chunk's first upvalue is its _ENV.
    if lua_setupvalue(L, -2, 1) == nil { clua_pop(L, 1) }
    try callWithinLimits(arguments: 0, results: 1)
  }

  /// A protected call of strategy code (the function below `arguments` values on the stack)
  /// under the state's limits: the instruction budget, work units and the memory cap. Every
  /// call that can run strategy code goes through here or through the filter call.
  public func callWithinLimits(arguments: Int32, results: Int32) throws(LuaError) {
    let L = lua.L
    clua_setbudget(L, instructionBudget)
    clua_beginwork(lua.budget, instructionBudget)
    defer {
      _ = clua_endwork(lua.budget)
      clua_setbudget(L, 0)
    }
    try lua.withMemoryLimit { () throws(LuaError) in
      try lua.protectedCall(arguments: arguments, results: results)
    }
  }

  /// The address (`lua_topointer`) of the table a fresh strategy environment holds under
  /// `name` (a host library such as `ta` or `math`), nil if none: what `clua_EnvGuard` checks
  /// a strategy's environment still holds.
  public func hostLibrary(_ name: String) -> UnsafeRawPointer? {
    let L = lua.L
    let top = lua.top
    defer { lua.top = top }
    lua.push(ref: newEnvRef)
    lua_pushstring(L, "host")
    guard (try? lua.protectedCall(arguments: 1, results: 1)) != nil else { return nil }
    lua_pushstring(L, name)
    guard lua_rawget(L, -2) == LUA_TTABLE else { return nil }
    return lua_topointer(L, -1)
  }

  /// Makes the value on top of the stack a global visible (read-only) to every strategy
  /// loaded afterwards or before. Pops it.
  public func addGlobal(_ name: String) throws(LuaError) {
    lua.push(ref: addGlobalRef)
    lua_pushstring(lua.L, name)
    clua_insert(lua.L, -3)
    clua_insert(lua.L, -3)
    // stack: add_global, name, value
    try lua.protectedCall(arguments: 2, results: 0)
  }

  /// Replaces the table on top of the stack with a read-only proxy of it.
  public func makeReadonly(name: String) throws(LuaError) {
    lua.push(ref: readonlyRef)
    clua_insert(lua.L, -2)
    lua_pushstring(lua.L, name)
    try lua.protectedCall(arguments: 2, results: 1)
  }
}
