#if canImport(Glibc)
  import Glibc
#endif
import CLua
import CLuaHost
import LuaKit
import Support
import Tracking

/// Makes the metatable on top of the stack read-only for Lua: writes raise
/// `file:line: attempt to modify a read-only NAME`, `getmetatable` gives `false`.
func protectMetatable(_ lua: LuaState, name: String) {
  let L = lua.L
  lua_pushstring(L, name)
  lua.push(readOnlyError, upvalues: 1)
  lua_setfield(L, -2, "__newindex")
  lua_pushboolean(L, 0)
  lua_setfield(L, -2, "__metatable")
}

/// `__newindex` of every view: an error at the strategy's line (`file:line: attempt to
/// modify a read-only kline series`). Called through the trampoline: never raises itself.
let readOnlyError: clua_SwiftFunction = { L in
  let name = lua_tolstring(L, clua_upvalueindex(2), nil).map { String(cString: $0) } ?? "view"
  luaL_where(L, 1)
  lua_pushstring(L, "attempt to modify a read-only \(name)")
  lua_concat(L, 2)
  return -1
}
