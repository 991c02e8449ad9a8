// Small C shim over Lua 5.4: the C macros Swift cannot import, and the trampoline that lets
// Swift functions raise Lua errors without a longjmp crossing Swift frames.
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

/// A Swift function callable from Lua. It returns the number of results, or -1 after pushing
/// an error message: the trampoline then raises it, so `lua_error`'s longjmp starts and ends
/// in C frames and never skips a Swift frame.
typedef int (*clua_SwiftFunction)(lua_State *L);


/// Per-state memory accounting (after Suricata's sandbox allocator). `limit` applies only
/// while `enforce` is set: the host turns it on around strategy code (chunk runs, filter
/// calls), so host-side API calls outside protected calls never see an allocation failure.
/// When `ptr` is NULL, Lua passes the object type in `osize`: only a real block's size counts.
typedef struct {
  size_t used;
  size_t limit;
  int enforce;
  unsigned magic;  /* CLUA_BUDGET_MAGIC: marks a state created by clua_newstate */
  int metatables;  /* 1 once strategy code has called setmetatable (see clua_callfilter) */
} clua_MemoryBudget;

#define CLUA_BUDGET_MAGIC 0x4C554142u

static inline void *clua_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  clua_MemoryBudget *b = (clua_MemoryBudget *)ud;
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
  return p;
}

/// The state's memory budget, if the state was made by `clua_newstate`.
static inline clua_MemoryBudget *clua_budgetof(lua_State *L) {
  void *ud = NULL;
  lua_getallocf(L, &ud);
  clua_MemoryBudget *b = (clua_MemoryBudget *)ud;
  return (b && b->magic == CLUA_BUDGET_MAGIC) ? b : NULL;
}

static inline lua_State *clua_newstate(clua_MemoryBudget *budget) {
  budget->magic = CLUA_BUDGET_MAGIC;
  return lua_newstate(clua_alloc, budget);
}

/// Calls the Swift function. While it runs, the state's memory cap is lifted: Swift code may
/// push values, and an allocation failure there would longjmp across Swift frames. The
/// cap applies again as soon as control returns to Lua code.
static inline int clua_trampoline(lua_State *L) {
  clua_SwiftFunction f = (clua_SwiftFunction)lua_touserdata(L, lua_upvalueindex(1));
  clua_MemoryBudget *budget = clua_budgetof(L);
  int enforced = budget ? budget->enforce : 0;
  if (budget) budget->enforce = 0;
  int n = f(L);
  if (budget) budget->enforce = enforced;
  if (n < 0) return lua_error(L);
  return n;
}

/// Pushes a closure calling `f`. The `extra` values on top of the stack become upvalues
/// 2...extra+1 (upvalue 1 holds the function pointer).
static inline void clua_pushswiftclosure(lua_State *L, clua_SwiftFunction f, int extra) {
  lua_pushlightuserdata(L, (void *)f);
  if (extra > 0) lua_insert(L, -(extra + 1));
  lua_pushcclosure(L, clua_trampoline, extra + 1);
}

/// Message handler for `lua_pcall`: keeps string messages (they already carry file:line),
/// and turns anything else into a readable string.
static inline int clua_messagehandler(lua_State *L) {
  if (lua_type(L, 1) == LUA_TSTRING) return 1;
  if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
  lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  return 1;
}

/// Instruction budget (after Redis's script timeout hook): once a call has run `budget`
/// instructions the hook raises an error, then re-arms itself to fire on every instruction, so
/// a strategy's own `pcall` cannot swallow the abort: it keeps raising until the host's
/// protected call returns.
static inline void clua_budgethook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, clua_budgethook, LUA_MASKCOUNT, 1);
  luaL_error(L, "instruction budget exceeded");
}

/// Arms the budget for the next call (0 disables it).
static inline void clua_setbudget(lua_State *L, int budget) {
  if (budget > 0) lua_sethook(L, clua_budgethook, LUA_MASKCOUNT, budget);
  else lua_sethook(L, NULL, 0, 0);
}

/// `setmetatable` as the sandbox hands it to strategies calls this first: from then on every
/// filter call in the state runs with the instruction budget armed, since a metamethod can
/// run Lua code that no instruction of the filter itself names (see `clua_callfilter`).
static inline int clua_notemetatable(lua_State *L) {
  clua_MemoryBudget *b = clua_budgetof(L);
  if (b) b->metatables = 1;
  return 0;
}

typedef struct {
  unsigned char *bytes;
  size_t count, capacity;
} clua_DumpBuffer;

static inline int clua_dumpwriter(lua_State *L, const void *p, size_t size, void *ud) {
  (void)L;
  clua_DumpBuffer *d = (clua_DumpBuffer *)ud;
  if (d->count + size > d->capacity) {
    size_t capacity = (d->count + size) * 2;
    unsigned char *bytes = (unsigned char *)realloc(d->bytes, capacity);
    if (bytes == NULL) return 1;
    d->bytes = bytes;
    d->capacity = capacity;
  }
  memcpy(d->bytes + d->count, p, size);
  d->count += size;
  return 0;
}

/// Reads one `dumpSize` value (7 bits per byte, most significant first, the last byte has
/// bit 7 set) at `*at`; 0 on a malformed buffer.
static inline int clua_readsize(const clua_DumpBuffer *d, size_t *at, size_t *value) {
  size_t x = 0;
  for (int n = 0; n < 10 && *at < d->count; n++) {
    unsigned char b = d->bytes[(*at)++];
    x = (x << 7) | (b & 0x7f);
    if (b & 0x80) {
      *value = x;
      return 1;
    }
  }
  return 0;
}

/// The host libraries whose functions filters may call without the count hook (class 2 of
/// `clua_filterclass`): C functions that run no Lua code (they read tables raw; metamethods
/// of strategy tables only, which turn the hook back on). Bit i of a filter's mask: it calls
/// functions of library i.
#define CLUA_HOSTLIBS 2
static const char *const clua_hostlibs[CLUA_HOSTLIBS] = {"ta", "math"};
static inline const char *clua_hostlib(int i) {
  return i >= 0 && i < CLUA_HOSTLIBS ? clua_hostlibs[i] : NULL;
}

/// Which host library constant `k` of the dumped function names (its index + 1), or 0 (`ks`
/// holds each constant's offset in the dump, or 0 for a constant that is not a string).
static inline int clua_khostlib(const clua_DumpBuffer *d, const size_t *ks, size_t nk, unsigned k) {
  if (k >= nk || ks[k] == 0 || d->bytes[ks[k] - 1] != 4 /* LUA_VSHRSTR */) return 0;
  size_t at = ks[k], size = 0;
  if (!clua_readsize(d, &at, &size) || size == 0 || at + size - 1 > d->count) return 0;
  for (int i = 0; i < CLUA_HOSTLIBS; i++)
    if (strlen(clua_hostlibs[i]) == size - 1 && memcmp(d->bytes + at, clua_hostlibs[i], size - 1) == 0)
      return i + 1;
  return 0;
}

/// What a call of the Lua function at `idx` may run, for the instruction budget's count hook:
/// 0, provably within `budget` (no hook); 1, maybe not (hook); 2, within it as long as the
/// strategy's environment (the table at `envIdx`, 0: none) still holds the host's libraries
/// named in `*libs` (bit i: `clua_hostlibs[i]`; checked before each call by
/// `clua_envguard_holds`).
///
/// Lua 5.4 traces every instruction while a count hook is set (~1 ns each, plus ~14 ns to arm
/// and disarm it per call: measured with `engine bench`, most of what a small filter costs
/// beyond the call itself), so the engine leaves the hook off for filters that provably stay
/// within it: none of their instructions jumps backwards or loops, and there are few enough of
/// them. Such a function runs each of its instructions at most once, and runs no other Lua
/// code unless a metamethod or a called function does so. Metamethods that run Lua code come
/// only from tables given a metatable by strategy code (`clua_notemetatable` then turns the
/// hook back on) or from the host: the sandbox's read-only tables (`__len`, `__newindex`:
/// under 8 instructions each, per instruction of the filter that triggers them) and the fill
/// of `s` (under 64, once per call). So `size * 8 + 64 < budget` bounds everything a hooked
/// call could count (the test `marginCoversHostMetamethods` fails with `size < budget`).
///
/// Calls (class 2): a filter like `ta.rsi(s.klines["1m"].close, 14) < 30` or
/// `math.abs(s.change_pct) > 5` calls only host C functions, which run no Lua code, if every
/// function it calls is `LIB.NAME` (`LIB` one of `clua_hostlibs`) read from its environment
/// right before the call, and `LIB` there is the host's read-only library. So each call
/// instruction must take its function from a register written by `GETFIELD` from the
/// register `GETTABUP` (the instruction just before) wrote with environment["LIB"] (the
/// upvalue must be the strategy's environment itself), with nothing in between that can
/// write that register or below (a generated-filter test finds sources that do), no jump
/// into that stretch, and the filter must write no table and no upvalue and make no closure (no
/// `ta = f`, `_G.ta = f`, `_ENV = t`). Other code of the strategy could still change its
/// `ta` (a function it handed to a plugin, run by another strategy's call): hence the check
/// of the environment before each call.
///
/// Anything else, including a dump this code does not recognise, answers 1. Reads the
/// function's bytecode from `lua_dump` (format of `ldump.c`, stable across Lua 5.4 releases):
/// the header, then the main function's code and constants; opcode numbers as in 5.4's
/// `lopcodes.h`.
static inline int clua_filterclass(lua_State *L, int idx, lua_Integer budget, int envIdx,
                                   int *libs) {
  *libs = 0;
  if (!lua_isfunction(L, idx) || lua_iscfunction(L, idx)) return 1;
  idx = lua_absindex(L, idx);
  if (envIdx) envIdx = lua_absindex(L, envIdx);
  clua_DumpBuffer d = {NULL, 0, 0};
  lua_pushvalue(L, idx);
  int failed = lua_dump(L, clua_dumpwriter, &d, 1);
  lua_pop(L, 1);
  int needs = 1, calls = 0, writes = 0;
  /* Header: "\x1bLua", version 0x54, format 0, LUAC_DATA (6), 3 sizes, LUAC_INT (8),
     LUAC_NUM (8): 31 bytes; then the main function's upvalue count (1 byte). */
  size_t at = 32, source = 0, line = 0, last = 0, size = 0;
  if (!failed && d.count > 35 && memcmp(d.bytes, "\x1bLua\x54\x00", 6) == 0 && d.bytes[12] == 4
      && clua_readsize(&d, &at, &source) && source == 0 /* stripped: no source */
      && clua_readsize(&d, &at, &line) && clua_readsize(&d, &at, &last) && (at += 3)
      && clua_readsize(&d, &at, &size) && size * 8 + 64 < (size_t)budget
      && at + size * 4 <= d.count) {
    needs = 0;
    for (size_t i = 0; i < size && !needs; i++) {
      uint32_t ins;
      memcpy(&ins, d.bytes + at + i * 4, 4);
      unsigned op = ins & 0x7f;
      if (op == 56) /* OP_JMP: only forward */
        needs = (int32_t)(ins >> 7) - 16777215 < 0;
      else /* OP_TBC (55: __close), the loops (73-77), and any opcode number 5.4 does not
              have */
        needs = op == 55 || (op >= 73 && op <= 77) || op > 82;
      calls += op == 68 || op == 69; /* OP_CALL, OP_TAILCALL */
      /* OP_SETUPVAL (10), OP_SETTABUP .. OP_SETFIELD (15-18), OP_SETLIST (78),
         OP_CLOSURE (79) */
      writes |= op == 10 || (op >= 15 && op <= 18) || op == 78 || op == 79;
    }
  }
  if (!needs && calls) needs = (writes || !envIdx) ? 1 : 2;
  if (needs == 2) {
    size_t code = at, nk = 0;
    at = code + size * 4;
    size_t *ks = NULL;
    unsigned char *target = (unsigned char *)calloc(size + 2, 1);
    int ok = target != NULL && clua_readsize(&d, &at, &nk) && nk < (1u << 20);
    if (ok) ks = (size_t *)calloc(nk + 1, sizeof(size_t));
    ok = ok && ks != NULL;
    /* Constants: a type byte, then the value (`dumpConstants`). */
    for (size_t k = 0; ok && k < nk; k++) {
      if (at >= d.count) { ok = 0; break; }
      unsigned char t = d.bytes[at++];
      size_t len = 0;
      if (t == 0 || t == 1 || t == 17) continue;                 /* nil, false, true */
      if (t == 3 || t == 19) { at += 8; continue; }              /* integer, float */
      if (t != 4 && t != 20) { ok = 0; break; }                  /* short, long string */
      ks[k] = at;
      ok = clua_readsize(&d, &at, &len) && len > 0 && (at += len - 1) <= d.count;
    }
    /* Where control can arrive other than from the instruction before. */
    for (size_t i = 0; ok && i < size; i++) {
      uint32_t ins;
      memcpy(&ins, d.bytes + code + i * 4, 4);
      unsigned op = ins & 0x7f;
      if (op == 56) {
        long t = (long)i + 1 + ((long)(ins >> 7) - 16777215);
        if (t >= 0 && t <= (long)size) target[t] = 1;
      } else if (op == 6 || (op >= 57 && op <= 67)) { /* OP_LFALSESKIP, tests: skip one */
        target[i + 2] = 1;
      }
    }
    for (size_t c = 0; ok && c < size; c++) {
      uint32_t call;
      memcpy(&call, d.bytes + code + c * 4, 4);
      if ((call & 0x7f) != 68 && (call & 0x7f) != 69) continue; /* OP_CALL, OP_TAILCALL */
      unsigned a = (call >> 7) & 0xff;
      int found = 0;
      for (size_t j = c; j-- > 1;) {
        if (target[j + 1]) break; /* control may arrive between j and the call */
        uint32_t ins;
        memcpy(&ins, d.bytes + code + j * 4, 4);
        unsigned op = ins & 0x7f, ja = (ins >> 7) & 0xff;
        if (op == 14 && ja == a) { /* OP_GETFIELD R[a] := R[b][K[c]] */
          uint32_t prev;
          memcpy(&prev, d.bytes + code + (j - 1) * 4, 4);
          unsigned b = (ins >> 16) & 0xff, up = (prev >> 16) & 0xff;
          /* OP_GETTABUP R[b] := UpValue[up][K["LIB"]], the upvalue being the environment */
          int lib = 0;
          if (!target[j] && (prev & 0x7f) == 11 && ((prev >> 7) & 0xff) == b
              && (lib = clua_khostlib(&d, ks, nk, (prev >> 24) & 0xff)) != 0
              && lua_getupvalue(L, idx, (int)up + 1) != NULL) {
            found = lua_rawequal(L, -1, envIdx);
            lua_pop(L, 1);
            if (found) *libs |= 1 << (lib - 1);
          }
          break;
        }
        /* A jump, a test, or an instruction that may write R[a] or below (the binary
           metamethod fallbacks 46-48 write none). */
        if (op == 56 || (op >= 57 && op <= 67) || (ja <= a && !(op >= 46 && op <= 48))) break;
      }
      ok = found;
    }
    if (!ok) {
      needs = 1;
      *libs = 0;
    }
    free(ks);
    free(target);
  }
  free(d.bytes);
  return needs;
}

/// Whether the Lua function at `idx` can run past `budget` instructions with no strategy
/// environment known (`clua_filterclass` answering 0 or 1).
static inline int clua_needsbudget(lua_State *L, int idx, lua_Integer budget) {
  int libs = 0;
  return clua_filterclass(L, idx, budget, 0, &libs);
}

/// The userdata at `idx` (NULL if it is none) and the address of its metatable (in `meta`;
/// NULL if none). Lets the host recognise its own views by metatable address, without
/// `luaL_testudata`'s registry lookup by name (a string hash per call).
static inline void *clua_touserdata_meta(lua_State *L, int idx, const void **meta) {
  *meta = NULL;
  void *p = lua_touserdata(L, idx);
  if (p == NULL || !lua_getmetatable(L, idx)) return p;
  *meta = lua_topointer(L, -1);
  lua_pop(L, 1);
  return p;
}

/// Whether this state's full userdata without user values (the only kind the host makes;
/// Lua code cannot make userdata) keep their metatable in the word just before their block,
/// as Lua 5.4's `Udata0` lays them out (`metatable`, then the block). Checked through the API
/// on a scratch userdata, with and without a metatable; `clua_viewof` reads the word only
/// when this answered 1.
static inline int clua_udatalayout(lua_State *L) {
  const void *const *p = (const void *const *)lua_newuserdatauv(L, sizeof(void *), 0);
  int ok = p[-1] == NULL;
  lua_createtable(L, 0, 0);
  const void *meta = lua_topointer(L, -1);
  lua_setmetatable(L, -2);
  ok = ok && p[-1] == meta && lua_getmetatable(L, -1) && lua_topointer(L, -1) == meta;
  lua_settop(L, -3);
  return ok;
}

/// The block of the full userdata at `idx` if its metatable is the table at address `meta`,
/// else NULL: with `layout` (`clua_udatalayout` answered 1) two API calls and a compare,
/// the host's views being recognised by metatable address (no `luaL_testudata` registry
/// lookup by name, a string hash per call); else through `lua_getmetatable`.
static inline void *clua_viewof(lua_State *L, int idx, const void *meta, int layout) {
  if (meta == NULL || lua_type(L, idx) != LUA_TUSERDATA) return NULL;
  void *p = lua_touserdata(L, idx);
  if (layout) return ((const void *const *)p)[-1] == meta ? p : NULL;
  const void *m;
  clua_touserdata_meta(L, idx, &m);
  return m == meta ? p : NULL;
}

/// The candles of the symbol being evaluated in one interval, as kline views read them: the
/// host rewrites it before each symbol's filter calls. Columns in the store's order (time,
/// open, high, low, close, volume), oldest first. When `pending`, the newest candle (index
/// `count`) is not in the columns yet but in `newest` (the store writes it lazily).
typedef struct {
  const double *columns[6];
  lua_Integer count;
  double newest[6];
  int pending;
} clua_SeriesWindow;

/// Payload of a kline series or column view (a C struct so that the C metamethods below and
/// the Swift host agree on its layout).
typedef struct {
  const clua_SeriesWindow *window; /* the current symbol's candles in this interval */
  void *base;                      /* host: the store's slot of symbol 0 in this interval */
  const int *current;              /* host: the symbol being evaluated */
  int interval;
  int column;                      /* -1 for a series view */
} clua_ViewPayload;

/// `k.close[i]`: the hottest metamethod (strategies loop over candles with it), in C so that
/// it costs no trampoline: never raises, nil outside 1..#k.
static inline int clua_columnindex(lua_State *L) {
  const clua_ViewPayload *p = (const clua_ViewPayload *)lua_touserdata(L, 1);
  int isint = 0;
  lua_Integer i = lua_tointegerx(L, 2, &isint);
  if (p == NULL || !isint || p->column < 0 || p->column > 5 || i < 1 || i > p->window->count) {
    lua_pushnil(L);
    return 1;
  }
  if (i == p->window->count && p->window->pending)
    lua_pushnumber(L, p->window->newest[p->column]);
  else
    lua_pushnumber(L, p->window->columns[p->column][i - 1]);
  return 1;
}

/// `#k` / `#k.close`: the current symbol's candle count in the view's interval.
static inline int clua_serieslength(lua_State *L) {
  const clua_ViewPayload *p = (const clua_ViewPayload *)lua_touserdata(L, 1);
  lua_pushinteger(L, p == NULL ? 0 : p->window->count);
  return 1;
}


/// The worker's `s` fills itself on first use (see the Swift `StrategyRuntime`): the host
/// writes the symbol's ticker fields here when it moves to another symbol and points the
/// proxy's `__index` at a trigger table; the first field read that misses in it calls
/// `clua_fillview`, which writes the fields into the data table with the host's Lua `fill`
/// function and points the proxy at the data table, so later reads are plain table reads.
/// Filters that read no ticker field (kline-only ones) never pay for the fill.
typedef struct {
  double fields[11];  /* price open high low volume quote_volume change change_pct vwap bid ask; NaN: never sent */
  lua_Integer time;
  int hasTime;
  int nameRef;        /* the symbol's name (a Lua string) */
  int fillRef;        /* fill(t, 11 fields, time, symbol) */
  int dataRef;        /* the data table */
  int metaRef;        /* the proxy's metatable */
  int filled;         /* 1 once the data table holds this symbol */
  int onData;         /* 1 while the proxy's __index is the data table (else the trigger) */
  int fills;          /* fills done (the host reads and resets it) */
  /* Direct writes (see clua_directfill): the data table, its node array when the slots were
     found, each field's node, and the key strings (address and tag) the nodes must hold. */
  int direct;
  const unsigned char *table;
  const unsigned char *node;
  unsigned char *slots[13];
  const void *keys[13];
  unsigned char keytags[13];
  const void *name;   /* the symbol's name string (address) and its value tag */
  unsigned char nametag;
} clua_FillState;

/* Lua 5.4's object layout (lobject.h, unchanged from 5.4.0 to 5.4.7; 5.4.4 here):
   Table { GCObject *next; lu_byte tt, marked, flags, lsizenode; unsigned alimit;
           TValue *array; Node *node; ... }  -> lsizenode at byte 11, node at byte 24.
   Node (24 bytes) { Value value_; lu_byte tt_; lu_byte key_tt; int next; Value key_val; }.
   TString { GCObject *next; lu_byte tt; ... } -> its type tag at byte 8. */
#define CLUA_T_LSIZENODE 11
#define CLUA_T_NODE 24
#define CLUA_NODE_SIZE 24
#define CLUA_VNIL 0x00
#define CLUA_VNUMINT 0x03
#define CLUA_VNUMFLT 0x13
#define CLUA_COLLECTABLE 0x40

/// The value tag a Lua value of the string at `p` (from `lua_topointer`) carries.
static inline unsigned char clua_stringtag(const void *p) {
  return (unsigned char)(((const unsigned char *)p)[8] | CLUA_COLLECTABLE);
}

/// The node of `node` (an array of 2^`lsize` nodes) whose key is the string `key` (with key
/// tag `keytag`), or NULL.
static inline unsigned char *clua_findnode(const unsigned char *node, unsigned lsize,
                                           const void *key, unsigned char keytag) {
  size_t n = lsize < 24 ? (size_t)1 << lsize : 0;
  for (size_t j = 0; j < n; j++) {
    const unsigned char *p = node + j * CLUA_NODE_SIZE;
    /* The caller owns what it may write (the fill writes the host's own data table). */
    if (p[9] == keytag && *(const void *const *)(p + 16) == key) return (unsigned char *)p;
  }
  return NULL;
}

/// Whether a strategy's environment still holds the host's libraries its filter calls (filters
/// of `clua_filterclass` 2 run without the count hook only while it does), read straight from
/// the environment's nodes for their names (Lua 5.4's layout, above): an API lookup per
/// filter call cost about what the hook does. The nodes are found again when the node array
/// moved or was resized; any mismatch answers 0 (the call is then hooked), never a wrong 1: a
/// node of this table whose key is "ta" and whose value is the host's `ta` means exactly
/// that.
typedef struct {
  const unsigned char *env;  /* the environment table; NULL: guard off (always 0) */
  const unsigned char *node; /* its node array, and size, when `slots` were looked for */
  unsigned lsize;
  int count;                 /* entries checked */
  const unsigned char *slots[CLUA_HOSTLIBS]; /* the node with each key, NULL if none */
  const void *keys[CLUA_HOSTLIBS];           /* each library's name string and key tag */
  unsigned char keytags[CLUA_HOSTLIBS];
  const void *values[CLUA_HOSTLIBS];         /* each host library table and its value tag */
  unsigned char valuetags[CLUA_HOSTLIBS];
} clua_EnvGuard;

static inline void clua_envguard_find(clua_EnvGuard *g) {
  const unsigned char *t = g->env;
  g->lsize = t[CLUA_T_LSIZENODE];
  g->node = *(const unsigned char *const *)(t + CLUA_T_NODE);
  for (int i = 0; i < g->count; i++)
    g->slots[i] = clua_findnode(g->node, g->lsize, g->keys[i], g->keytags[i]);
}

static inline int clua_envguard_holds(clua_EnvGuard *g) {
  if (g->env == NULL) return 0;
  const unsigned char *t = g->env;
  if (*(const unsigned char *const *)(t + CLUA_T_NODE) != g->node || t[CLUA_T_LSIZENODE] != g->lsize)
    clua_envguard_find(g);
  for (int i = 0; i < g->count; i++) {
    const unsigned char *p = g->slots[i];
    if (p == NULL || p[9] != g->keytags[i] || *(const void *const *)(p + 16) != g->keys[i]
        || p[8] != g->valuetags[i] || *(const void *const *)p != g->values[i])
      return 0;
  }
  return 1;
}

/// Arms `g` for the environment table at `envIdx` and the libraries in `libs` (bit i:
/// `clua_hostlibs[i]`), whose host tables are `hosts[i]` (from `lua_topointer`); checks this
/// Lua build's layout against the API first: each node found must hold what `lua_rawget`
/// reads. Returns 1 when armed and holding; else the guard stays off (calls keep the hook).
static inline int clua_envguard_setup(lua_State *L, clua_EnvGuard *g, int envIdx, int libs,
                                      const void *const hosts[CLUA_HOSTLIBS]) {
  memset(g, 0, sizeof *g);
  if (lua_version(L) != 504 || lua_type(L, envIdx) != LUA_TTABLE || libs == 0) return 0;
  envIdx = lua_absindex(L, envIdx);
  for (int i = 0; i < CLUA_HOSTLIBS; i++) {
    if (!(libs & (1 << i))) continue;
    if (hosts[i] == NULL) return 0;
    lua_pushstring(L, clua_hostlibs[i]);
    g->keys[g->count] = lua_topointer(L, -1);
    g->keytags[g->count] = clua_stringtag(g->keys[g->count]);
    lua_rawget(L, envIdx);
    int holds = lua_type(L, -1) == LUA_TTABLE && lua_topointer(L, -1) == hosts[i];
    lua_pop(L, 1);
    if (!holds) return 0;
    g->values[g->count] = hosts[i];
    g->count++;
  }
  g->env = (const unsigned char *)lua_topointer(L, envIdx);
  clua_envguard_find(g);
  for (int i = 0; i < g->count; i++) {
    const unsigned char *p = g->slots[i];
    if (p == NULL || *(const void *const *)p != g->values[i] || (p[8] & 0x0f) != LUA_TTABLE) {
      g->env = NULL;
      return 0;
    }
    g->valuetags[i] = p[8];
  }
  return clua_envguard_holds(g);
}

/// One filter call, the engine's hot path, in one C call: pushes the filter and its argument
/// from the registry, arms the instruction budget and the memory cap, calls with the message
/// handler at stack index `msgh`, then disarms both. Leaves 2 results (or the error) on the
/// stack and returns the `lua_pcall` status. (Done from Swift it was seven calls across the
/// boundary and a memory-cap toggle through a class: measurable per evaluation.)
static inline int clua_callfilter(lua_State *L, int filterRef, int argRef, int budget, int msgh,
                                  int callClass, clua_EnvGuard *guard) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, filterRef);
  lua_rawgeti(L, LUA_REGISTRYINDEX, argRef);
  clua_MemoryBudget *b = clua_budgetof(L);
  /* A filter of `clua_filterclass` 0 needs no hook, nor one of class 2 while its
     environment holds the host's `ta`, unless strategy code has set a metatable (a metamethod
     could then run unbounded Lua code from it). */
  int bounded = callClass == 0 || (callClass == 2 && guard != NULL && clua_envguard_holds(guard));
  int hook = budget > 0 && !(bounded && b && !b->metatables);
  if (hook) clua_setbudget(L, budget);
  if (b) b->enforce = 1;
  int status = lua_pcall(L, 1, 2, msgh);
  if (b) b->enforce = 0;
  if (hook) clua_setbudget(L, 0);
  return status;
}

/// Finds each field's node in the data table's node array (NULL where its key is absent).
static inline void clua_findslots(clua_FillState *f) {
  const unsigned char *t = f->table;
  unsigned char *node = *(unsigned char *const *)(t + CLUA_T_NODE);
  for (int i = 0; i < 13; i++)
    f->slots[i] = clua_findnode(node, t[CLUA_T_LSIZENODE], f->keys[i], f->keytags[i]);
  f->node = node;
}

/// Writes the symbol's fields straight into the data table's nodes: 13 stores instead of a
/// Lua call with 14 arguments (profiles: the fill was a third of a ticker filter's
/// evaluation). Returns 0, writing nothing, when it cannot: direct mode off, the node array
/// moved, or a field with a value whose key is gone (a key whose value was nil, for a field
/// the feed never sent, can be cleared by the collector); the caller then fills with the Lua
/// function, which re-creates keys, and calls `clua_findslots`.
/// No write barrier is needed: numbers are not collectable, and the name string is also held
/// by the registry (the host's reference for the symbol, kept for the state's life), so the
/// collector marks it whether or not it sees this table again.
static inline int clua_directfill(clua_FillState *f) {
  if (!f->direct || *(const unsigned char *const *)(f->table + CLUA_T_NODE) != f->node) return 0;
  for (int i = 0; i < 13; i++) {
    unsigned char *p = f->slots[i];
    int absent = i < 11 ? f->fields[i] != f->fields[i] : (i == 11 ? !f->hasTime : 0);
    int live = p && p[9] == f->keytags[i] && *(const void *const *)(p + 16) == f->keys[i];
    if (!live && !absent) return 0;
  }
  for (int i = 0; i < 11; i++) {
    unsigned char *p = f->slots[i];
    double v = f->fields[i];
    if (v != v) {
      if (p && p[9] == f->keytags[i]) p[8] = CLUA_VNIL;
    } else {
      memcpy(p, &v, sizeof v);
      p[8] = CLUA_VNUMFLT;
    }
  }
  unsigned char *time = f->slots[11];
  if (f->hasTime) {
    memcpy(time, &f->time, sizeof f->time);
    time[8] = CLUA_VNUMINT;
  } else if (time && time[9] == f->keytags[11]) {
    time[8] = CLUA_VNIL;
  }
  memcpy(f->slots[12], &f->name, sizeof f->name);
  f->slots[12][8] = f->nametag;
  return 1;
}

/// Turns direct writes on for the data table at `idx` (holding all 13 field keys, with any
/// values), after checking this Lua build has the layout above: each field written through
/// the API must appear in the node found for it, and a value written into the node must be
/// what the API reads back. Returns 1 when on; on any mismatch direct mode stays off and
/// fills go through the Lua function. Field values are left as `false`.
static inline int clua_directfill_setup(lua_State *L, clua_FillState *f, int idx,
                                        const char *const names[13]) {
  f->direct = 0;
  if (lua_version(L) != 504) return 0;
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) != LUA_TTABLE) return 0;
  f->table = (const unsigned char *)lua_topointer(L, idx);
  for (int i = 0; i < 13; i++) {
    lua_pushstring(L, names[i]);
    f->keys[i] = lua_topointer(L, -1);
    f->keytags[i] = clua_stringtag(f->keys[i]);
    lua_pop(L, 1);
  }
  clua_findslots(f);
  int ok = 1;
  for (int i = 0; i < 13 && ok; i++) {
    unsigned char *p = f->slots[i];
    if (!p) { ok = 0; break; }
    double probe = 1000.5 + i, back = 2000.25 + i, seen;
    lua_pushnumber(L, probe);
    lua_setfield(L, idx, names[i]);
    memcpy(&seen, p, sizeof seen);
    if (seen != probe || p[8] != CLUA_VNUMFLT) ok = 0;
    memcpy(p, &back, sizeof back);
    int isnum = 0;
    if (lua_getfield(L, idx, names[i]) != LUA_TNUMBER || lua_isinteger(L, -1) ||
        lua_tonumberx(L, -1, &isnum) != back)
      ok = 0;
    lua_pop(L, 1);
    lua_Integer n = 42 + i;
    memcpy(p, &n, sizeof n);
    p[8] = CLUA_VNUMINT;
    if (lua_getfield(L, idx, names[i]) != LUA_TNUMBER || !lua_isinteger(L, -1) ||
        lua_tointegerx(L, -1, &isnum) != n)
      ok = 0;
    lua_pop(L, 1);
    memcpy(p, &f->keys[0], sizeof f->keys[0]);
    p[8] = f->keytags[0];
    if (lua_getfield(L, idx, names[i]) != LUA_TSTRING ||
        strcmp(lua_tolstring(L, -1, NULL), names[0]) != 0)
      ok = 0;
    lua_pop(L, 1);
    lua_pushboolean(L, 0);
    lua_setfield(L, idx, names[i]);
  }
  if (ok && *(const unsigned char *const *)(f->table + CLUA_T_NODE) != f->node) ok = 0;
  f->direct = ok;
  return ok;
}

/// Pushes the fill function and its 14 arguments (data table, 11 fields, time, name).
static inline void clua_pushfill(lua_State *L, const clua_FillState *f) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, f->fillRef);
  lua_rawgeti(L, LUA_REGISTRYINDEX, f->dataRef);
  for (int i = 0; i < 11; i++) {
    double v = f->fields[i];
    if (v != v) lua_pushnil(L); else lua_pushnumber(L, v);
  }
  if (f->hasTime) lua_pushinteger(L, f->time); else lua_pushnil(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, f->nameRef);
}

/// Points the proxy (its metatable's `__index`) at the table registered as `ref`: the data
/// table or the trigger table.
static inline void clua_pointview(lua_State *L, clua_FillState *f, int ref) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, f->metaRef);
  lua_pushliteral(L, "__index");
  lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  f->onData = ref == f->dataRef;
}

/// Writes the fields into the data table and points the proxy at it. Runs inside a filter
/// call: the memory cap is lifted meanwhile (a field set back from nil may allocate), as
/// around every host function.
static inline void clua_dofill(lua_State *L, clua_FillState *f) {
  clua_MemoryBudget *b = clua_budgetof(L);
  int enforced = b ? b->enforce : 0;
  if (b) b->enforce = 0;
  if (!clua_directfill(f)) {
    clua_pushfill(L, f);
    lua_call(L, 14, 0);
    if (f->direct) clua_findslots(f);
  }
  if (!f->onData) clua_pointview(L, f, f->dataRef);
  f->filled = 1;
  f->fills++;
  if (b) b->enforce = enforced;
}

/// `__index` of the trigger table (upvalue 1: the `clua_FillState`): fills, then answers.
static inline int clua_fillview(lua_State *L) {
  clua_FillState *f = (clua_FillState *)lua_touserdata(L, lua_upvalueindex(1));
  if (!f->filled) clua_dofill(L, f);
  lua_rawgeti(L, LUA_REGISTRYINDEX, f->dataRef);
  lua_pushvalue(L, 2);
  lua_rawget(L, -2);
  return 1;
}

/// The iterator of `pairs(s)` (upvalue 1: the data table, which it never hands out).
static inline int clua_viewnext(lua_State *L) {
  lua_settop(L, 2);
  if (lua_next(L, lua_upvalueindex(1))) return 2;
  lua_pushnil(L);
  return 1;
}

/// `__pairs` of `s` (upvalue 1: the `clua_FillState`): fills if needed, then iterates.
static inline int clua_viewpairs(lua_State *L) {
  clua_FillState *f = (clua_FillState *)lua_touserdata(L, lua_upvalueindex(1));
  if (!f->filled) clua_dofill(L, f);
  lua_rawgeti(L, LUA_REGISTRYINDEX, f->dataRef);
  lua_pushcclosure(L, clua_viewnext, 1);
  lua_pushnil(L);
  lua_pushnil(L);
  return 3;
}

#endif
