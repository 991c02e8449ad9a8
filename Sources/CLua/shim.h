// Lua 5.4's API macros as functions Swift can call (Swift imports no function-like macros).
// The host's own C code lives in the CLuaHost target.
#ifndef CLUA_SHIM_H
#define CLUA_SHIM_H

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline int clua_registryindex(void) { return LUA_REGISTRYINDEX; }
static inline int clua_upvalueindex(int i) { return lua_upvalueindex(i); }
static inline void clua_pop(lua_State *L, int n) { lua_pop(L, n); }
static inline void clua_newtable(lua_State *L) { lua_newtable(L); }
static inline void clua_insert(lua_State *L, int idx) { lua_insert(L, idx); }
static inline void clua_remove(lua_State *L, int idx) { lua_remove(L, idx); }
static inline void clua_replace(lua_State *L, int idx) { lua_replace(L, idx); }
static inline int clua_isnoneornil(lua_State *L, int idx) { return lua_isnoneornil(L, idx); }
static inline int clua_isfunction(lua_State *L, int idx) { return lua_isfunction(L, idx); }
static inline int clua_istable(lua_State *L, int idx) { return lua_istable(L, idx); }
static inline const char *clua_tostring(lua_State *L, int idx) { return lua_tolstring(L, idx, NULL); }
static inline lua_Number clua_tonumber(lua_State *L, int idx, int *isnum) { return lua_tonumberx(L, idx, isnum); }
static inline lua_Integer clua_tointeger(lua_State *L, int idx, int *isnum) { return lua_tointegerx(L, idx, isnum); }
static inline int clua_pcall(lua_State *L, int nargs, int nresults, int msgh) { return lua_pcall(L, nargs, nresults, msgh); }
static inline void *clua_newuserdata(lua_State *L, size_t size, int nuvalue) { return lua_newuserdatauv(L, size, nuvalue); }

/// Bytes in use by the state (`lua_gc` is variadic, which Swift cannot call).
static inline size_t clua_memoryinuse(lua_State *L) {
  return (size_t)lua_gc(L, LUA_GCCOUNT) * 1024 + (size_t)lua_gc(L, LUA_GCCOUNTB);
}

/// A full garbage collection (after a memory error, and before closing a state).
static inline void clua_fullgc(lua_State *L) { lua_gc(L, LUA_GCCOLLECT); }

/// Loads a text chunk only: binary (precompiled) chunks are memory-unsafe to load.
static inline int clua_loadtext(lua_State *L, const char *buf, size_t len, const char *name) {
  return luaL_loadbufferx(L, buf, len, name, "t");
}


#endif
