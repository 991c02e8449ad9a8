// Which filters provably stay within the instruction budget (see filter_class.c).
#ifndef CLUA_CLASSIFY_H
#define CLUA_CLASSIFY_H

#include <lua.h>

/// The host libraries whose functions filters may call without the count hook (class 2 of
/// `clua_filterclass`): C functions that run no Lua code (they read tables raw; metamethods
/// of strategy tables only, which turn the hook back on). Bit i of a filter's mask: it calls
/// functions of library i.
#define CLUA_HOSTLIBS 2

/// The name of host library `i` ("ta", "math"), or NULL.
const char *clua_hostlib(int i);

int clua_filterclass(lua_State *L, int idx, lua_Integer budget, int envIdx, int *libs);

/// Whether the Lua function at `idx` can run past `budget` instructions with no strategy
/// environment known (`clua_filterclass` answering 0 or 1).
int clua_needsbudget(lua_State *L, int idx, lua_Integer budget);

#endif
