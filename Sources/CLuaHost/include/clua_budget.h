// Limits on what strategy code may use: memory (a capped allocator), Lua instructions (the
// count hook), work done inside C library functions (work units), and wall-clock time (an
// interrupt that stops a call at its next instruction).
#ifndef CLUA_BUDGET_H
#define CLUA_BUDGET_H

#include <lauxlib.h>
#include <lua.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>

/// A Swift function callable from Lua. It returns the number of results, or -1 after pushing
/// an error message: the trampoline then raises it, so `lua_error`'s longjmp starts and ends
/// in C frames and never skips a Swift frame.
typedef int (*clua_SwiftFunction)(lua_State *L);

/// Per-state limits and accounting. One per state, made by the host before the state
/// (`clua_newstate`) and freed after it is closed. Every field but the atomics is touched only
/// by the thread that owns the state.
///
/// Memory (after Suricata's sandbox allocator): `limit` applies only while `enforce` is set:
/// the host turns it on around strategy code (chunk runs, filter calls), so host-side API
/// calls outside protected calls never see an allocation failure.
///
/// Work units: the instruction budget counts Lua instructions only; a C library function
/// runs as one instruction however long it takes. So while a budgeted call runs (`counting`),
/// C functions reachable by strategies charge their work here (`clua_charge`), and so does
/// every allocation; a call gets as many units as instructions.
typedef struct {
  size_t used;     /* bytes allocated by the state */
  size_t limit;    /* memory cap while `enforce` is set */
  int enforce;
  unsigned magic;  /* CLUA_BUDGET_MAGIC: marks a state created by clua_newstate */
  int metatables;  /* 1 once strategy code has called setmetatable (see clua_callfilter) */
  int layout;      /* lua_layout.c's facts: 0 not checked yet, 1 hold, -1 do not */
  lua_State *L;    /* the state */
  long long units; /* work units left in the running call, while `counting` */
  int counting;
  int tripped;     /* the units ran out: the count hook now raises at every instruction */
  /* Interrupts (see clua_interrupt): `calls` is odd while a filter call runs and `tag` names
     what it evaluates; another thread reads both (`__atomic` loads). */
  unsigned long long calls;
  unsigned long long tag;
  unsigned long long interruptcall; /* the `calls` value of the call asked to stop */
  int interruptreason;              /* CLUA_INTERRUPT_* of that request */
  volatile sig_atomic_t interrupted; /* set by the signal handler, on the owning thread */
  void *tripped_searches;            /* patterns.c: searches that ran out of units (malloc'd) */
} clua_Budget;

#define CLUA_BUDGET_MAGIC 0x4C554142u

/// Why a call was interrupted.
enum { CLUA_INTERRUPT_TIMEOUT = 1, CLUA_INTERRUPT_STOP = 2 };

/// A new state whose allocations `budget` accounts for (zero it first; NULL on failure).
lua_State *clua_newstate(clua_Budget *budget);

/// Frees what the budget owns besides the state's memory (call after `lua_close`).
void clua_budget_release(clua_Budget *budget);

/// The state's budget, if the state was made by `clua_newstate`.
static inline clua_Budget *clua_budgetof(lua_State *L) {
  void *ud = NULL;
  lua_getallocf(L, &ud);
  clua_Budget *b = (clua_Budget *)ud;
  return (b && b->magic == CLUA_BUDGET_MAGIC) ? b : NULL;
}

/// Calls the Swift function in upvalue 1. While it runs, the state's memory cap is lifted:
/// Swift code may push values, and an allocation failure there would longjmp across Swift
/// frames. The cap applies again as soon as control returns to Lua code.
int clua_trampoline(lua_State *L);

/// Pushes a closure calling `f`. The `extra` values on top of the stack become upvalues
/// 2...extra+1 (upvalue 1 holds the function pointer).
void clua_pushswiftclosure(lua_State *L, clua_SwiftFunction f, int extra);

/// Message handler for `lua_pcall`: keeps string messages (they already carry file:line),
/// and turns anything else into a readable string.
int clua_messagehandler(lua_State *L);

/// Arms the instruction budget for the next call (0 disables it). Once a call has run
/// `budget` instructions the hook raises "instruction budget exceeded" (after Redis's script
/// timeout hook), then re-arms itself to fire on every instruction, so a strategy's own
/// `pcall` cannot swallow the abort: it keeps raising until the host's protected call returns.
void clua_setbudget(lua_State *L, int budget);

/// `setmetatable` as the sandbox hands it to strategies calls this first: from then on every
/// filter call in the state runs with the instruction budget armed, since a metamethod can
/// run Lua code that no instruction of the filter itself names (see `clua_callfilter`).
int clua_notemetatable(lua_State *L);

/// Starts counting work units for a call of `budget` instructions (0: no budget).
static inline void clua_beginwork(clua_Budget *b, int budget) {
  b->units = budget;
  b->counting = budget > 0;
  b->tripped = 0;
}

/// Stops counting; returns 1 when the call tripped the work budget or was interrupted (the
/// count hook is then armed and must be disarmed with `clua_setbudget(L, 0)`).
static inline int clua_endwork(clua_Budget *b) {
  int armed = b->tripped || b->interrupted;
  b->counting = 0;
  b->tripped = 0;
  b->interrupted = 0;
  return armed;
}

/// Charges `units` of work to the budgeted call running in `L`; raises "instruction budget
/// exceeded" (a Lua error: call it only from a C function Lua called) once the call's units
/// run out, and raises the interrupt's error once the call was interrupted. A no-op while no
/// budget is armed and no interrupt is pending.
void clua_charge(lua_State *L, size_t units);

/// Installs the handler of `sig` (once per process) that interrupts filter calls: it arms a
/// count hook that raises at the call's next Lua instruction. Returns 0, or -1 on failure.
int clua_interrupt_install(int sig);

/// Binds the calling thread to `b` (NULL: unbinds): a signal delivered to this thread
/// interrupts the state's running call, if it is the one requested. Call on the thread that
/// owns the state; the interrupt signal is unblocked on it while bound.
void clua_interrupt_bind(clua_Budget *b);

/// What another thread may read of a state's running call: `calls` (odd while a call runs)
/// and its tag.
unsigned long long clua_callsof(const clua_Budget *b);
unsigned long long clua_tagof(const clua_Budget *b);

/// From another thread: asks the call `calls` of `b` (a value read with `clua_callsof`) to
/// stop, for `reason`, by sending `sig` to `thread` (bound to `b`). A call that has already
/// ended is left alone. Returns `pthread_kill`'s result.
int clua_interrupt(clua_Budget *b, unsigned long long calls, int reason, pthread_t thread,
                   int sig);

/// Never returns, whatever signal arrives: a C function no hook or interrupt can stop, which
/// debug builds offer to tests (`ENGINE_TEST_C_STALL`) to check that a stop request still
/// ends the process.
int clua_teststall(lua_State *L);

#endif
