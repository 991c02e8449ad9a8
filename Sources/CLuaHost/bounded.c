// Library functions whose work the budget bounds (see clua_bounded.h). The table functions
// are this project's own implementations of Lua 5.4's (same results, errors and order of
// metamethod calls), charging each element as it is visited: their loops can run through
// metamethods or over absent elements for as long as a length says, and the count hook never
// fires inside them. The other functions keep Lua's implementation behind a charge computed
// from their arguments before they run.
#include "CLuaHost.h"

#include <limits.h>
#include <string.h>

/* Work counted locally and charged in lumps, so that a loop pays one budget lookup per
   METER_LUMP units. */
#define METER_LUMP 64

typedef struct {
  lua_State *L;
  size_t pending;
} Meter;

static void meter_add(Meter *m, size_t units) {
  m->pending += units;
  if (m->pending >= METER_LUMP) {
    size_t n = m->pending;
    m->pending = 0;
    clua_charge(m->L, n);
  }
}

static void meter_flush(Meter *m) {
  size_t n = m->pending;
  m->pending = 0;
  if (n) clua_charge(m->L, n);
}

int clua_chargeunits(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  if (n > 0) clua_charge(L, (size_t)n);
  return 0;
}

/* ---- table ---------------------------------------------------------------------------- */

enum { TAB_READ = 1, TAB_WRITE = 2, TAB_LENGTH = 4 };

/* Whether the metatable below `depth` values on the stack has field `key` (raw). */
static int hasmetafield(lua_State *L, const char *key, int depth) {
  lua_pushstring(L, key);
  return lua_rawget(L, -depth) != LUA_TNIL;
}

/* Argument `arg` must be a table, or behave as one for `needs` (metamethods present). */
static void tablelike(lua_State *L, int arg, int needs) {
  if (lua_type(L, arg) == LUA_TTABLE) return;
  int pushed = 1;
  if (lua_getmetatable(L, arg) && (!(needs & TAB_READ) || hasmetafield(L, "__index", ++pushed))
      && (!(needs & TAB_WRITE) || hasmetafield(L, "__newindex", ++pushed))
      && (!(needs & TAB_LENGTH) || hasmetafield(L, "__len", ++pushed))) {
    lua_pop(L, pushed);
    return;
  }
  luaL_checktype(L, arg, LUA_TTABLE);
}

static lua_Integer lengthof(lua_State *L, int arg, int needs) {
  tablelike(L, arg, needs | TAB_LENGTH);
  return luaL_len(L, arg);
}

static int table_insert(lua_State *L) {
  Meter m = {L, 0};
  lua_Integer end = (lua_Integer)((lua_Unsigned)lengthof(L, 1, TAB_READ | TAB_WRITE) + 1u);
  lua_Integer at;
  int args = lua_gettop(L);
  if (args == 2) {
    at = end;
  } else if (args == 3) {
    at = luaL_checkinteger(L, 2);
    luaL_argcheck(L, (lua_Unsigned)at - 1u < (lua_Unsigned)end, 2, "position out of bounds");
    for (lua_Integer i = end; i > at; i--) {
      meter_add(&m, 1);
      lua_geti(L, 1, i - 1);
      lua_seti(L, 1, i);
    }
  } else {
    return luaL_error(L, "wrong number of arguments to 'insert'");
  }
  meter_flush(&m);
  lua_seti(L, 1, at);
  return 0;
}

static int table_remove(lua_State *L) {
  Meter m = {L, 0};
  lua_Integer size = lengthof(L, 1, TAB_READ | TAB_WRITE);
  lua_Integer at = luaL_optinteger(L, 2, size);
  if (at != size)
    luaL_argcheck(L, (lua_Unsigned)at - 1u <= (lua_Unsigned)size, 1, "position out of bounds");
  lua_geti(L, 1, at);
  for (; at < size; at++) {
    meter_add(&m, 1);
    lua_geti(L, 1, at + 1);
    lua_seti(L, 1, at);
  }
  meter_flush(&m);
  lua_pushnil(L);
  lua_seti(L, 1, at);
  return 1;
}

static int table_move(lua_State *L) {
  Meter m = {L, 0};
  lua_Integer from = luaL_checkinteger(L, 2);
  lua_Integer last = luaL_checkinteger(L, 3);
  lua_Integer to = luaL_checkinteger(L, 4);
  int dest = lua_isnoneornil(L, 5) ? 1 : 5;
  tablelike(L, 1, TAB_READ);
  tablelike(L, dest, TAB_WRITE);
  if (last >= from) {
    luaL_argcheck(L, from > 0 || last < LUA_MAXINTEGER + from, 3, "too many elements to move");
    lua_Integer count = last - from + 1;
    luaL_argcheck(L, to <= LUA_MAXINTEGER - count + 1, 4, "destination wrap around");
    /* Ascending unless the ranges overlap with the destination after the source. */
    int ascending = to > last || to <= from || (dest != 1 && !lua_compare(L, 1, dest, LUA_OPEQ));
    for (lua_Integer k = 0; k < count; k++) {
      lua_Integer i = ascending ? k : count - 1 - k;
      meter_add(&m, 1);
      lua_geti(L, 1, from + i);
      lua_seti(L, dest, to + i);
    }
  }
  meter_flush(&m);
  lua_pushvalue(L, dest);
  return 1;
}

static void concatfield(lua_State *L, luaL_Buffer *b, lua_Integer i) {
  lua_geti(L, 1, i);
  if (!lua_isstring(L, -1))
    luaL_error(L, "invalid value (%s) at index %I in table for 'concat'", luaL_typename(L, -1),
               (LUAI_UACINT)i);
  luaL_addvalue(b);
}

static int table_concat(lua_State *L) {
  Meter m = {L, 0};
  lua_Integer last = lengthof(L, 1, TAB_READ);
  size_t seplen;
  const char *sep = luaL_optlstring(L, 2, "", &seplen);
  lua_Integer i = luaL_optinteger(L, 3, 1);
  last = luaL_optinteger(L, 4, last);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (; i < last; i++) {
    meter_add(&m, 1);
    concatfield(L, &b, i);
    luaL_addlstring(&b, sep, seplen);
  }
  if (i == last) concatfield(L, &b, i);
  meter_flush(&m);
  luaL_pushresult(&b);
  return 1;
}

static int table_unpack(lua_State *L) {
  lua_Integer i = luaL_optinteger(L, 2, 1);
  lua_Integer last = lua_isnoneornil(L, 3) ? luaL_len(L, 1) : luaL_checkinteger(L, 3);
  if (i > last) return 0;
  lua_Unsigned extra = (lua_Unsigned)last - (lua_Unsigned)i;
  if (extra >= (unsigned int)INT_MAX || !lua_checkstack(L, (int)(extra + 1)))
    return luaL_error(L, "too many results to unpack");
  /* One lump up front: the count is bounded by the stack, and every element costs one. */
  clua_charge(L, (size_t)(extra + 1));
  for (; i < last; i++) lua_geti(L, 1, i);
  lua_geti(L, 1, last);
  return (int)(extra + 1);
}

/* Sorting: a quicksort of the array part through lua_geti/lua_seti, comparing with the
   function at index 2 or with `<`. The pivot is the median of the first, middle and last
   elements (no random pivot: the same input sorts the same way every run). An order function
   that is not a strict order makes a scan leave its range: "invalid order function for
   sorting", as Lua says. Each comparison and each move is charged. */

static int sortless(lua_State *L, Meter *m, int a, int b) {
  meter_add(m, 1);
  if (lua_isnil(L, 2)) {
    if (lua_type(L, a) == LUA_TSTRING && lua_type(L, b) == LUA_TSTRING)
      meter_add(m, (lua_rawlen(L, a) < lua_rawlen(L, b) ? lua_rawlen(L, a) : lua_rawlen(L, b)) / 64);
    return lua_compare(L, a, b, LUA_OPLT);
  }
  lua_pushvalue(L, 2);
  lua_pushvalue(L, a - 1);
  lua_pushvalue(L, b - 2);
  lua_call(L, 2, 1);
  int less = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return less;
}

/* t[i] = value at -1, t[j] = value at -2 (pops both). */
static void sortset2(lua_State *L, Meter *m, lua_Integer i, lua_Integer j) {
  meter_add(m, 1);
  lua_seti(L, 1, i);
  lua_seti(L, 1, j);
}

static void sortrange(lua_State *L, Meter *m, lua_Integer lo, lua_Integer up) {
  while (lo < up) {
    /* Order t[lo] <= t[up]. */
    lua_geti(L, 1, lo);
    lua_geti(L, 1, up);
    if (sortless(L, m, -1, -2))
      sortset2(L, m, lo, up); /* t[lo] = old t[up], t[up] = old t[lo] */
    else
      lua_pop(L, 2);
    if (up - lo == 1) return;
    lua_Integer p = lo + (up - lo) / 2;
    /* Median of three into t[p]. */
    lua_geti(L, 1, p);
    lua_geti(L, 1, lo);
    if (sortless(L, m, -2, -1)) {
      sortset2(L, m, p, lo); /* t[p] < t[lo]: swap */
    } else {
      lua_pop(L, 1);
      lua_geti(L, 1, up);
      if (sortless(L, m, -1, -2))
        sortset2(L, m, p, up); /* t[up] < t[p]: swap */
      else
        lua_pop(L, 2);
    }
    if (up - lo == 2) return;
    /* The pivot to up - 1; scan (lo, up - 1) from both ends. */
    lua_geti(L, 1, p);
    lua_pushvalue(L, -1);
    lua_geti(L, 1, up - 1);
    sortset2(L, m, p, up - 1); /* pivot stays on the stack */
    lua_Integer i = lo, j = up - 1;
    for (;;) {
      lua_geti(L, 1, ++i);
      while (sortless(L, m, -1, -2)) {
        if (i == up - 1) luaL_error(L, "invalid order function for sorting");
        lua_pop(L, 1);
        lua_geti(L, 1, ++i);
      }
      lua_geti(L, 1, --j);
      while (sortless(L, m, -3, -1)) {
        if (j < i) luaL_error(L, "invalid order function for sorting");
        lua_pop(L, 1);
        lua_geti(L, 1, --j);
      }
      if (j < i) {
        lua_pop(L, 1); /* t[j] */
        sortset2(L, m, up - 1, i); /* t[up - 1] = t[i], t[i] = the pivot (consumed) */
        break;
      }
      sortset2(L, m, i, j); /* t[i] = old t[j], t[j] = old t[i] */
    }
    /* Recurse into the smaller side, loop on the larger (depth O(log n)). */
    if (i - lo < up - i) {
      sortrange(L, m, lo, i - 1);
      lo = i + 1;
    } else {
      sortrange(L, m, i + 1, up);
      up = i - 1;
    }
  }
}

static int table_sort(lua_State *L) {
  lua_Integer n = lengthof(L, 1, TAB_READ | TAB_WRITE);
  if (n > 1) {
    luaL_argcheck(L, n < INT_MAX, 1, "array too big");
    if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_settop(L, 2);
    Meter m = {L, 0};
    sortrange(L, &m, 1, n);
    meter_flush(&m);
  }
  return 0;
}

/* ---- string, utf8, base: Lua's own behind a charge ---------------------------------- */

/* What a wrapped function's call costs, from its arguments, before it runs (never raises:
   arguments the function itself rejects cost nothing). */
typedef size_t (*Cost)(lua_State *L);

static size_t lengthat(lua_State *L, int i) {
  return lua_type(L, i) == LUA_TSTRING ? lua_rawlen(L, i) : 0;
}

static lua_Integer intat(lua_State *L, int i, lua_Integer otherwise) {
  int isnum = 0;
  lua_Integer v = lua_tointegerx(L, i, &isnum);
  return isnum ? v : otherwise;
}

/* The count of positions i..j (Lua's relative positions, clipped to 1..len). */
static size_t span(size_t len, lua_Integer i, lua_Integer j) {
  lua_Integer n = (lua_Integer)len;
  if (i < 0) i = i < -n ? 1 : n + i + 1;
  if (i < 1) i = 1;
  if (j < 0) j = j < -n ? 0 : n + j + 1;
  if (j > n) j = n;
  return j >= i ? (size_t)(j - i + 1) : 0;
}

static size_t cost_rep(lua_State *L) {
  lua_Integer n = intat(L, 2, 0);
  if (n <= 0) return 0;
  size_t piece = lengthat(L, 1) + lengthat(L, 3);
  size_t count = (size_t)n;
  /* Each copy is a loop step; the bytes are charged as copying (saturating). */
  size_t bytes = piece != 0 && count > SIZE_MAX / piece ? SIZE_MAX : piece * count;
  return count / 8 + bytes / 64;
}

static size_t cost_byte(lua_State *L) {
  lua_Integer i = intat(L, 2, 1);
  return span(lengthat(L, 1), i, intat(L, 3, i)) / 8;
}

static size_t cost_args(lua_State *L) { return (size_t)lua_gettop(L) / 8; }

static size_t cost_firstlength(lua_State *L) { return lengthat(L, 1) / 8; }

static size_t cost_bytes(lua_State *L) { return lengthat(L, 1) / 16; }

static size_t cost_utf8range(lua_State *L) {
  lua_Integer i = intat(L, 2, 1);
  return span(lengthat(L, 1), i, intat(L, 3, -1)) / 8;
}

static size_t cost_codepoint(lua_State *L) {
  lua_Integer i = intat(L, 2, 1);
  return span(lengthat(L, 1), i, intat(L, 3, i)) / 8;
}

static size_t cost_offset(lua_State *L) {
  lua_Integer n = intat(L, 2, 0);
  size_t steps = n < 0 ? (size_t)(-(n + 1)) + 1 : (size_t)n;
  return lengthat(L, 1) / 64 + steps / 8;
}

enum { COST_REP, COST_BYTE, COST_ARGS, COST_FIRSTLENGTH, COST_BYTES, COST_UTF8RANGE,
       COST_CODEPOINT, COST_OFFSET, COSTS };
static const Cost costs[COSTS] = {cost_rep,   cost_byte,       cost_args,      cost_firstlength,
                                  cost_bytes, cost_utf8range, cost_codepoint, cost_offset};

/* Upvalue 1: Lua's function; upvalue 2: the index of its cost. Lua's function runs in this
   same call frame, so its argument errors name the function as the caller called it. */
static int charged(lua_State *L) {
  lua_CFunction f = lua_tocfunction(L, lua_upvalueindex(1));
  size_t units = costs[lua_tointegerx(L, lua_upvalueindex(2), NULL)](L);
  if (units) clua_charge(L, units);
  return f(L);
}

/* Replaces `t[name]` (the table on top of the stack) by `f`, or (`f` NULL) by Lua's own behind
   the charge `costs[cost]`. */
static void replace(lua_State *L, const char *name, lua_CFunction f, int cost) {
  if (f) {
    lua_pushcfunction(L, f);
  } else {
    lua_getfield(L, -1, name);
    lua_CFunction original = lua_tocfunction(L, -1);
    lua_pop(L, 1);
    if (original == NULL) return;
    lua_pushcfunction(L, original);
    lua_pushinteger(L, cost);
    lua_pushcclosure(L, charged, 2);
  }
  lua_setfield(L, -2, name);
}

void clua_boundlibraries(lua_State *L) {
  int top = lua_gettop(L);
  if (lua_getglobal(L, "string") == LUA_TTABLE) {
    replace(L, "find", clua_str_find, 0);
    replace(L, "match", clua_str_match, 0);
    replace(L, "gmatch", clua_str_gmatch, 0);
    replace(L, "gsub", clua_str_gsub, 0);
    replace(L, "rep", NULL, COST_REP);
    replace(L, "byte", NULL, COST_BYTE);
    replace(L, "char", NULL, COST_ARGS);
    replace(L, "format", NULL, COST_FIRSTLENGTH);
    replace(L, "lower", NULL, COST_BYTES);
    replace(L, "upper", NULL, COST_BYTES);
    replace(L, "reverse", NULL, COST_BYTES);
    replace(L, "pack", NULL, COST_FIRSTLENGTH);
    replace(L, "packsize", NULL, COST_FIRSTLENGTH);
    replace(L, "unpack", NULL, COST_FIRSTLENGTH);
  }
  lua_settop(L, top);
  if (lua_getglobal(L, "table") == LUA_TTABLE) {
    replace(L, "insert", table_insert, 0);
    replace(L, "remove", table_remove, 0);
    replace(L, "move", table_move, 0);
    replace(L, "concat", table_concat, 0);
    replace(L, "unpack", table_unpack, 0);
    replace(L, "sort", table_sort, 0);
  }
  lua_settop(L, top);
  if (lua_getglobal(L, "utf8") == LUA_TTABLE) {
    replace(L, "char", NULL, COST_ARGS);
    replace(L, "len", NULL, COST_UTF8RANGE);
    replace(L, "codepoint", NULL, COST_CODEPOINT);
    replace(L, "offset", NULL, COST_OFFSET);
  }
  lua_settop(L, top);
  lua_pushglobaltable(L);
  replace(L, "tonumber", NULL, COST_BYTES);
  lua_settop(L, top);
}
