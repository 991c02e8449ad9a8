// The state's allocator, the instruction and work budgets, and interrupts (see clua_budget.h).
#include "CLuaHost.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* An allocation's work, in units (about one Lua instruction's worth each): it stands for the
   copying a new or grown block is made for (a concatenation, a string built by a library
   function), so that work a C function does through allocations is bounded by the budget
   too. At least one unit, so that no loop allocating small blocks is free. */
#define BYTES_PER_UNIT 64

static void tripwork(clua_Budget *b);

static void *allocate(void *ud, void *ptr, size_t osize, size_t nsize) {
  clua_Budget *b = (clua_Budget *)ud;
  /* When `ptr` is NULL, Lua passes the object type in `osize`: only a real block's size
     counts. */
  size_t old = ptr ? osize : 0;
  if (nsize == 0) {
    free(ptr);
    b->used -= old;
    return NULL;
  }
  if (b->enforce && nsize > old && b->used - old + nsize > b->limit) return NULL;
  void *p = realloc(ptr, nsize);
  if (p == NULL) return NULL;
  b->used = b->used - old + nsize;
  if (b->counting && nsize > old) {
    b->units -= 1 + (long long)((nsize - old) / BYTES_PER_UNIT);
    /* An allocator must not raise: the count hook raises at the next instruction. */
    if (b->units < 0 && !b->tripped) tripwork(b);
  }
  return p;
}

lua_State *clua_newstate(clua_Budget *budget) {
  budget->magic = CLUA_BUDGET_MAGIC;
  lua_State *L = lua_newstate(allocate, budget);
  budget->L = L;
  return L;
}

int clua_trampoline(lua_State *L) {
  clua_SwiftFunction f = (clua_SwiftFunction)lua_touserdata(L, lua_upvalueindex(1));
  clua_Budget *budget = clua_budgetof(L);
  int enforced = budget ? budget->enforce : 0;
  if (budget) budget->enforce = 0;
  int n = f(L);
  if (budget) budget->enforce = enforced;
  if (n < 0) return lua_error(L);
  return n;
}

void clua_pushswiftclosure(lua_State *L, clua_SwiftFunction f, int extra) {
  lua_pushlightuserdata(L, (void *)f);
  if (extra > 0) lua_rotate(L, -(extra + 1), 1);
  lua_pushcclosure(L, clua_trampoline, extra + 1);
}

int clua_messagehandler(lua_State *L) {
  if (lua_type(L, 1) == LUA_TSTRING) return 1;
  if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
  lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  return 1;
}

/* Raises `message` at the position of the Lua function a hook interrupted (in a hook, level
   0 is that function; luaL_error would name its caller). */
static void raiseinhook(lua_State *L, const char *message) {
  luaL_where(L, 0);
  lua_pushstring(L, message);
  lua_concat(L, 2);
  lua_error(L);
}

static void budgethook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, budgethook, LUA_MASKCOUNT, 1);
  raiseinhook(L, "instruction budget exceeded");
}

void clua_setbudget(lua_State *L, int budget) {
  if (budget > 0)
    lua_sethook(L, budgethook, LUA_MASKCOUNT, budget);
  else
    lua_sethook(L, NULL, 0, 0);
}

int clua_notemetatable(lua_State *L) {
  clua_Budget *b = clua_budgetof(L);
  if (b) b->metatables = 1;
  return 0;
}

/* The work units ran out: from the next instruction on, every instruction raises (as the
   instruction budget does once spent). */
static void tripwork(clua_Budget *b) {
  b->tripped = 1;
  b->units = 0;
  lua_sethook(b->L, budgethook, LUA_MASKCOUNT, 1);
}

static const char *interruptmessage(int reason) {
  return reason == CLUA_INTERRUPT_STOP ? "stopped: the engine is shutting down"
                                       : "stopped: the call ran past sandbox.call_timeout_ms";
}

static void interrupthook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, interrupthook, LUA_MASKCOUNT, 1);
  clua_Budget *b = clua_budgetof(L);
  raiseinhook(L, interruptmessage(b ? b->interrupted : CLUA_INTERRUPT_TIMEOUT));
}

void clua_charge(lua_State *L, size_t units) {
  clua_Budget *b = clua_budgetof(L);
  if (b == NULL) return;
  if (b->interrupted) luaL_error(L, "%s", interruptmessage(b->interrupted));
  if (!b->counting) return;
  if (b->units < 0 || (unsigned long long)b->units < units) {
    tripwork(b);
    luaL_error(L, "instruction budget exceeded");
  }
  b->units -= (long long)units;
}

int clua_trycharge(lua_State *L, size_t units) {
  clua_Budget *b = clua_budgetof(L);
  if (b == NULL) return 1;
  if (b->interrupted) return 0;
  if (!b->counting) return 1;
  if (b->units < 0 || (unsigned long long)b->units < units) {
    tripwork(b);
    return 0;
  }
  b->units -= (long long)units;
  return 1;
}

/* The budget of the state whose calls a signal to this thread interrupts. Initial-exec TLS:
   this code is linked into the executable, and the handler must not allocate. */
static __thread clua_Budget *bound __attribute__((tls_model("initial-exec")));

static void onsignal(int sig) {
  (void)sig;
  clua_Budget *b = bound;
  if (b == NULL) return;
  unsigned long long calls = __atomic_load_n(&b->calls, __ATOMIC_RELAXED);
  if (!(calls & 1) || __atomic_load_n(&b->interruptcall, __ATOMIC_ACQUIRE) != calls) return;
  /* Lua's `lua_sethook` may be called from a signal handler (ldebug.c); the hook raises at
     the interrupted call's next instruction. */
  b->interrupted = __atomic_load_n(&b->interruptreason, __ATOMIC_RELAXED);
  lua_sethook(b->L, interrupthook, LUA_MASKCOUNT, 1);
}

/* The signal whose handler interrupts calls (set once by clua_interrupt_install). */
static int interruptsignal = 0;
/* Whether this thread blocked that signal before it was bound (restored when unbound):
   threads of some runtimes (libdispatch's workers) block every signal. */
static __thread int wasblocked __attribute__((tls_model("initial-exec")));

int clua_interrupt_install(int sig) {
  __atomic_store_n(&interruptsignal, sig, __ATOMIC_RELAXED);
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = onsignal;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  return sigaction(sig, &action, NULL);
}

void clua_interrupt_bind(clua_Budget *b) {
  int sig = __atomic_load_n(&interruptsignal, __ATOMIC_RELAXED);
  sigset_t set;
  sigemptyset(&set);
  if (sig) sigaddset(&set, sig);
  if (b != NULL && bound == NULL && sig) {
    sigset_t old;
    pthread_sigmask(SIG_UNBLOCK, &set, &old);
    wasblocked = sigismember(&old, sig) == 1;
  } else if (b == NULL && bound != NULL && sig && wasblocked) {
    pthread_sigmask(SIG_BLOCK, &set, NULL);
  }
  bound = b;
}

unsigned long long clua_callsof(const clua_Budget *b) {
  return __atomic_load_n(&b->calls, __ATOMIC_RELAXED);
}

unsigned long long clua_tagof(const clua_Budget *b) {
  return __atomic_load_n(&b->tag, __ATOMIC_RELAXED);
}

int clua_interrupt(clua_Budget *b, unsigned long long calls, int reason, pthread_t thread,
                   int sig) {
  __atomic_store_n(&b->interruptreason, reason, __ATOMIC_RELAXED);
  __atomic_store_n(&b->interruptcall, calls, __ATOMIC_RELEASE);
  return pthread_kill(thread, sig);
}

int clua_teststall(lua_State *L) {
  (void)L;
  for (;;) pause();
  return 0;
}
