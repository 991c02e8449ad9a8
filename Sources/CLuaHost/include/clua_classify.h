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

/// What a call of the Lua function at `idx` may run, for the instruction budget's count hook:
/// 0, provably within `budget` (no hook); 1, maybe not (hook); 2, within it as long as the
/// strategy's environment (the table at `envIdx`, 0: none) still holds the host's libraries
/// named in `*libs` (bit i: `clua_hostlib(i)`; checked before each call by
/// `clua_envguard_holds`).
///
/// Lua traces every instruction while a count hook is set, which costs a small filter about
/// as much as its own work, so the engine leaves the hook off for filters that provably stay
/// within the budget: none of their instructions jumps backwards or loops, and there are few
/// enough of them. Such a function runs each of its instructions at most once, and runs no
/// other Lua code unless a metamethod or a called function does so. Metamethods that run Lua
/// code come only from tables given a metatable by strategy code (`clua_notemetatable` then
/// turns the hook back on) or from the host: the sandbox's read-only tables (`__len`,
/// `__newindex`: under 8 instructions each, per instruction of the filter that triggers them)
/// and the fill of `s` (under 64, once per call). So `size * 8 + 64 < budget` bounds
/// everything a hooked call could count (the test `marginCoversHostMetamethods` fails with
/// `size < budget`).
///
/// Calls (class 2): a filter like `ta.rsi(s.klines["1m"].close, 14) < 30` or
/// `math.abs(s.change_pct) > 5` calls only host C functions, which run no Lua code, if every
/// function it calls is `LIB.NAME` (`LIB` a host library) read from its environment right
/// before the call, and `LIB` there is the host's read-only library. So each call instruction
/// must take its function from a register written by `GETFIELD` from the register `GETTABUP`
/// (the instruction just before) wrote with environment["LIB"] (the upvalue must be the
/// strategy's environment itself), with nothing in between that can write that register or
/// below, no jump into that stretch, and the filter must write no table and no upvalue and
/// make no closure (no `ta = f`, `_G.ta = f`, `_ENV = t`). Other code of the strategy could
/// still change its `ta` (a function it handed to a plugin, run by another strategy's call):
/// hence the check of the environment before each call.
///
/// Anything else, including a dump this code does not recognise, answers 1. Reads the
/// function's bytecode from `lua_dump` (the format of Lua 5.4's ldump.c): the header, then the
/// main function's code and constants.
int clua_filterclass(lua_State *L, int idx, lua_Integer budget, int envIdx, int *libs);

/// Whether the Lua function at `idx` can run past `budget` instructions with no strategy
/// environment known (`clua_filterclass` answering 0 or 1).
int clua_needsbudget(lua_State *L, int idx, lua_Integer budget);

#endif
