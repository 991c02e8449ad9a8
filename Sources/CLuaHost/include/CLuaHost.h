// The C side of the Lua boundary that this project writes (the Lua library itself comes
// from the system, through the `CLua` target): the work budget, and library functions
// whose work the budget bounds.
#ifndef CLUAHOST_H
#define CLUAHOST_H

#include <lua.h>
#include <lauxlib.h>
#include <stddef.h>

/// Charges `units` of work to the budgeted call running in `L`; raises "instruction budget
/// exceeded" (a Lua error, so call it only from a C function Lua called) once the call's
/// units run out. A no-op while no budget is armed.
void clua_charge(lua_State *L, size_t units);

/// `string.find`, `string.match`, `string.gmatch` and `string.gsub` with Lua 5.4's
/// semantics, charging their matching work to the budget (patterns.c).
int clua_str_find(lua_State *L);
int clua_str_match(lua_State *L);
int clua_str_gmatch(lua_State *L);
int clua_str_gsub(lua_State *L);

#endif
