#if canImport(Glibc)
  import Glibc
#endif
import CLua
import CLuaHost

/// One Lua 5.4 state. Not `Sendable`: a state belongs to the thread that created it for its
/// whole life (each engine worker owns one).
///
/// Every call into Lua that may raise goes through ``protectedCall(arguments:results:)``
/// (`lua_pcall` with a message handler), so Lua's `longjmp` never crosses a Swift frame.
public final class LuaState {
  /// The raw `lua_State *`, for the evaluation module's hot path (package access only: no
  /// other module talks to Lua but through this type).
  package let L: OpaquePointer
  private let messageHandlerRef: Int32
  /// Limits and accounting of this state (memory, work units, interrupts: `clua_Budget`);
  /// freed after `lua_close`.
  package let budget: UnsafeMutablePointer<clua_Budget>

  /// - Parameter memoryLimit: bytes this state may hold while strategy code runs
  ///   (``withMemoryLimit(_:)``); host work is never limited.
  public init(memoryLimit: Int = 64 << 20) throws(LuaError) {
    budget = .allocate(capacity: 1)
    budget.initialize(to: clua_Budget())
    budget.pointee.limit = max(0, memoryLimit)
    // `ENGINE_LUA_LAYOUT=api`: never read Lua's internal layout (lua_layout.h), always go
    // through the API, for comparing both paths (the results must be the same).
    if let mode = getenv("ENGINE_LUA_LAYOUT"), String(cString: mode) == "api" {
      budget.pointee.layout = -1
    }
    guard let L = clua_newstate(budget) else {
      budget.deallocate()
      throw LuaError(message: "cannot create a Lua state")
    }
    self.L = L
    lua_pushcclosure(L, clua_messagehandler, 0)
    messageHandlerRef = luaL_ref(L, clua_registryindex())
  }

  deinit {
    lua_close(L)
    clua_budget_release(budget)
    budget.deallocate()
  }

  /// Bytes currently allocated by this state.
  public var memoryUsed: Int { budget.pointee.used }

  /// The memory cap applied while strategy code runs, in bytes.
  public var memoryLimit: Int {
    get { budget.pointee.limit }
    set { budget.pointee.limit = max(0, newValue) }
  }

  /// Runs `body` with the memory cap enforced: an allocation past it fails, which Lua turns
  /// into a "not enough memory" error caught by the protected call inside `body`.
  @inline(__always)
  public func withMemoryLimit<T>(_ body: () throws(LuaError) -> T) throws(LuaError) -> T {
    budget.pointee.enforce = 1
    defer { budget.pointee.enforce = 0 }
    return try body()
  }

  public var top: Int32 {
    get { lua_gettop(L) }
    set { lua_settop(L, newValue) }
  }

  /// Compiles a text chunk (binary chunks are refused) and pushes it as a function.
  /// `path` is the file shown in messages (`path:line: message`).
  public func load(_ source: String, path: String) throws(LuaError) {
    try load(source, chunkName: "@" + path)
  }

  /// Compiles a text chunk with a raw Lua chunk name (`@file` or `=label`).
  public func load(_ source: String, chunkName: String) throws(LuaError) {
    var bytes = Array(source.utf8)
    bytes.append(0)
    let status = bytes.withUnsafeBufferPointer { buf in
      // safe: non-empty array (a 0 was appended), so baseAddress is non-nil
      buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buf.count) {
        clua_loadtext(L, $0, buf.count - 1, chunkName)
      }
    }
    if status != LUA_OK { throw popError() }
  }

  /// Calls the function below `arguments` values on the stack, with a message handler.
  /// On success `results` values are left on the stack (`LUA_MULTRET` for all).
  @inline(__always)
  public func protectedCall(arguments: Int32, results: Int32) throws(LuaError) {
    let base = lua_gettop(L) - arguments
    lua_rawgeti(L, clua_registryindex(), lua_Integer(messageHandlerRef))
    clua_insert(L, base)
    let status = clua_pcall(L, arguments, results, base)
    clua_remove(L, base)
    if status != LUA_OK { throw popError() }
  }

  /// Pops the error message on top of the stack into a ``LuaError``.
  public func popError() -> LuaError {
    let message = string(at: -1) ?? "(error object is not a string)"
    clua_pop(L, 1)
    return LuaError(message: message)
  }

  /// The string at `index`, if the value there is a string or a number. Never raises.
  public func string(at index: Int32) -> String? {
    let type = lua_type(L, index)
    guard type == LUA_TSTRING || type == LUA_TNUMBER else { return nil }
    if type == LUA_TNUMBER {
      lua_pushvalue(L, index)
      defer { clua_pop(L, 1) }
      var length = 0
      guard let p = lua_tolstring(L, -1, &length) else { return nil }
      return String(decoding: UnsafeRawBufferPointer(start: p, count: length), as: UTF8.self)
    }
    var length = 0
    guard let p = lua_tolstring(L, index, &length) else { return nil }
    return String(decoding: UnsafeRawBufferPointer(start: p, count: length), as: UTF8.self)
  }

  /// Pushes a Swift function as a Lua closure (through the error-raising trampoline).
  /// The `upvalues` values on top of the stack become its upvalues 2...
  public func push(_ function: clua_SwiftFunction, upvalues: Int32 = 0) {
    clua_pushswiftclosure(L, function, upvalues)
  }

  /// Stores the value on top of the stack in the registry and pops it.
  public func ref() -> Int32 { luaL_ref(L, clua_registryindex()) }

  /// Pushes a value stored with ``ref()``.
  @inline(__always)
  public func push(ref: Int32) { lua_rawgeti(L, clua_registryindex(), lua_Integer(ref)) }

  public func unref(_ ref: Int32) { luaL_unref(L, clua_registryindex(), ref) }

  /// Bytes of memory in use by this state.
  public var memoryInUse: Int {
    clua_memoryinuse(L)
  }
}
