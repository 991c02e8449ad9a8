// Library functions whose work the budget bounds (see clua_budget.h, work units).
#ifndef CLUA_BOUNDED_H
#define CLUA_BOUNDED_H

#include <lua.h>
#include <stddef.h>

/// Replaces, in the `string`, `table` and `utf8` libraries and the base library of `L`, each
/// C function whose work grows with its arguments by one that charges that work to the
/// budget, so that no call a strategy can make runs unbounded inside C (where the count hook
/// never fires): the pattern functions (patterns.c), the table functions that loop over
/// elements (concat, insert, remove, move, unpack, sort: reimplemented so that each element
/// is charged as it is visited), and the functions that loop over bytes or counts (string
/// rep, byte, char, format, lower, upper, reverse, pack, unpack, packsize; utf8 char,
/// charpattern aside, len, codepoint, offset; tonumber). Call after opening those libraries
/// and before anything copies them. Without an armed budget, each behaves as Lua's own.
void clua_boundlibraries(lua_State *L);

/// Charges `units` like `clua_charge`, but reports instead of raising: returns 0 (and the
/// budget is then spent, so the call's next instruction raises) when the units ran out or
/// the call was interrupted. For Swift functions, which must not raise.
int clua_trycharge(lua_State *L, size_t units);

/// `string.find`, `string.match`, `string.gmatch` and `string.gsub` with Lua 5.4's
/// semantics, charging their matching work to the budget (patterns.c).
int clua_str_find(lua_State *L);
int clua_str_match(lua_State *L);
int clua_str_gmatch(lua_State *L);
int clua_str_gsub(lua_State *L);

/// `charge(n)` for the sandbox's own Lua code (not for strategies): charges `n` units.
int clua_chargeunits(lua_State *L);

/// `clua_charge`: see clua_budget.h.
void clua_charge(lua_State *L, size_t units);

#endif
