// The C side of the Lua boundary that this project writes. The Lua library itself comes from
// the system (`CLua`, Debian's liblua5.4); everything here is the host's own:
//   clua_budget.h    allocator with a memory cap, instruction and work budgets, interrupts,
//                    the trampoline through which Swift functions raise Lua errors
//   clua_bounded.h   library functions whose work the budget bounds (patterns, tables, ...)
//   clua_classify.h  which filters provably stay within the instruction budget
//   clua_views.h     the kline views and the symbol view `s` as C metamethods
//   lua_layout.h     the one place that reads Lua 5.4's internal object layout (checked
//                    against the API before use, with a fallback)
//   clua_call.h      the filter call, the engine's hot path
#ifndef CLUAHOST_H
#define CLUAHOST_H

#include "clua_budget.h"
#include "clua_bounded.h"
#include "clua_classify.h"
#include "clua_views.h"
#include "lua_layout.h"
#include "clua_call.h"

#endif
