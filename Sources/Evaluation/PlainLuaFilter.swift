import CLua

/// Copies of one Lua function on a plain state, called with numbers as arguments: no sandbox,
/// no instruction budget, no memory cap, no views, no standard libraries. It is the cost of a
/// Lua call and nothing more, the floor the benchmark compares the engine's filter calls with.
///
/// Not `Sendable`: the state belongs to the thread that created it.
package final class PlainLuaFilter {
  private let L: OpaquePointer
  /// Registry references of the copies, in load order.
  private let references: [Int32]

  /// Runs `source` (a chunk that returns a function) `copies` times, keeping each function
  /// it returns; nil when the state cannot be made or a copy fails to load or run.
  package init?(source: String, copies: Int) {
    guard let L = luaL_newstate() else { return nil }
    var references: [Int32] = []
    for _ in 0..<copies {
      guard luaL_loadstring(L, source) == LUA_OK, clua_pcall(L, 0, 1, 0) == LUA_OK else {
        lua_close(L)
        return nil
      }
      references.append(luaL_ref(L, clua_registryindex()))
    }
    self.L = L
    self.references = references
  }

  deinit { lua_close(L) }

  /// Calls every copy with `a`; returns how many returned a truthy value.
  package func hits(_ a: Double) -> Int { call(a, 0, arguments: 1) }

  /// Calls every copy with `a` and `b`; returns how many returned a truthy value.
  package func hits(_ a: Double, _ b: Double) -> Int { call(a, b, arguments: 2) }

  /// A call that raises counts as not truthy; the stack is emptied after each call.
  private func call(_ a: Double, _ b: Double, arguments: Int32) -> Int {
    var hits = 0
    for reference in references {
      lua_rawgeti(L, clua_registryindex(), lua_Integer(reference))
      lua_pushnumber(L, a)
      if arguments == 2 { lua_pushnumber(L, b) }
      if lua_pcallk(L, arguments, 1, 0, 0, nil) == LUA_OK, lua_toboolean(L, -1) != 0 {
        hits += 1
      }
      lua_settop(L, 0)
    }
    return hits
  }
}
