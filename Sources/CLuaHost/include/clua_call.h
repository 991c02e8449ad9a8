// The filter call: the engine's hot path, in one C call.
#ifndef CLUA_CALL_H
#define CLUA_CALL_H

#include "clua_budget.h"
#include "lua_layout.h"

/// One filter call: pushes the filter and its argument from the registry, arms the memory
/// cap, the work units and (unless the filter's class shows it stays within it) the
/// instruction budget, calls with the message handler at stack index `msgh`, then disarms
/// them. Leaves 2 results (or the error) on the stack and returns the `lua_pcall` status.
/// `tag` says what the call evaluates (the host's strategy and symbol), for a watchdog on
/// another thread: `calls` is odd while the call runs. (Done from Swift this was seven calls
/// across the boundary: measurable per evaluation.)
static inline int clua_callfilter(lua_State *L, int filterRef, int argRef, int budget, int msgh,
                                  int callClass, clua_EnvGuard *guard, unsigned long long tag) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, filterRef);
  lua_rawgeti(L, LUA_REGISTRYINDEX, argRef);
  clua_Budget *b = clua_budgetof(L);
  /* A filter of `clua_filterclass` 0 needs no hook, nor one of class 2 while its environment
     holds the host's libraries, unless strategy code has set a metatable (a metamethod could
     then run unbounded Lua code from it). */
  int bounded = callClass == 0 || (callClass == 2 && guard != NULL && clua_envguard_holds(guard));
  int hook = budget > 0 && !(bounded && b && !b->metatables);
  if (hook) clua_setbudget(L, budget);
  if (b) {
    b->enforce = 1;
    clua_beginwork(b, budget);
    __atomic_store_n(&b->tag, tag, __ATOMIC_RELAXED);
    __atomic_store_n(&b->calls, b->calls + 1, __ATOMIC_RELAXED);
  }
  int status = lua_pcall(L, 1, 2, msgh);
  if (b) {
    __atomic_store_n(&b->calls, b->calls + 1, __ATOMIC_RELAXED);
    /* An interrupt handled before the store above shows in `interrupted` now. */
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    b->enforce = 0;
    if (clua_endwork(b)) hook = 1;
  }
  if (hook) clua_setbudget(L, 0);
  return status;
}

#endif
