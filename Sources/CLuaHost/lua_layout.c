// The one file that relies on Lua 5.4's internal object layout (see lua_layout.h): the
// facts relied on, by name, and their check through the API; the setups of the direct fill,
// the environment guard and the userdata view check.
#include "CLuaHost.h"

#include <string.h>

/* The facts about Lua's layout that lua_layout.h's readers rely on. `clua_layout_check`
   checks each through the API on scratch objects; when one fails, every reader here is
   turned off for the state and the host goes through the API instead (same values, more
   calls). */
static const char *const facts[] = {
    "Lua 5.4",          /* lua_version is 504 */
    "Table.node",       /* a Table points to its node array at byte 24 */
    "Table.lsizenode",  /* and holds log2 of its size at byte 11 */
    "Node.key",         /* a Node (24 bytes) has its key's tag at byte 9 and key at byte 16 */
    "TString.tt",       /* a string's type tag is at byte 8; as a key, | BIT_ISCOLLECTABLE */
    "Node.value",       /* a Node's value is at byte 0, its tag at byte 8 */
    "Value.tags",       /* nil, integer and float values are tagged 0x00, 0x03, 0x13 */
    "Udata0.metatable", /* a userdata without user values has its metatable in the word
                           before its block */
};
enum { VERSION, TABLE_NODE, TABLE_LSIZE, NODE_KEY, STRING_TAG, NODE_VALUE, VALUE_TAGS, UDATA };

static int forced = 0;

void clua_layout_forcefallback(int on) { __atomic_store_n(&forced, on, __ATOMIC_RELAXED); }

static int fail(const char **failed, int fact) {
  if (failed) *failed = facts[fact];
  return 0;
}

/* Whether the node found for key `name` of the table at `t` holds what the API reads. */
static int checkkey(lua_State *L, int t, const char *name, const char **failed) {
  const unsigned char *table = (const unsigned char *)lua_topointer(L, t);
  const unsigned char *node = *(const unsigned char *const *)(table + CLUA_T_NODE);
  unsigned lsize = table[CLUA_T_LSIZENODE];
  if (lsize > 8) return fail(failed, TABLE_LSIZE);
  lua_pushstring(L, name);
  const void *key = lua_topointer(L, -1);
  unsigned char *p = clua_findnode(node, lsize, key, clua_stringtag(key));
  lua_rawget(L, t);
  double expected = lua_tonumberx(L, -1, NULL);
  lua_pop(L, 1);
  if (p == NULL) return fail(failed, NODE_KEY);
  double seen;
  memcpy(&seen, p, sizeof seen);
  if (p[CLUA_NODE_VALUETAG] != CLUA_VNUMFLT) return fail(failed, VALUE_TAGS);
  if (seen != expected) return fail(failed, NODE_VALUE);
  /* Written into the node, each kind of value reads back through the API. */
  double f = expected + 0.5;
  memcpy(p, &f, sizeof f);
  lua_getfield(L, t, name);
  int ok = lua_type(L, -1) == LUA_TNUMBER && !lua_isinteger(L, -1) && lua_tonumberx(L, -1, NULL) == f;
  lua_pop(L, 1);
  lua_Integer i = 7;
  memcpy(p, &i, sizeof i);
  p[CLUA_NODE_VALUETAG] = CLUA_VNUMINT;
  lua_getfield(L, t, name);
  ok = ok && lua_isinteger(L, -1) && lua_tointegerx(L, -1, NULL) == 7;
  lua_pop(L, 1);
  p[CLUA_NODE_VALUETAG] = CLUA_VNIL;
  lua_getfield(L, t, name);
  ok = ok && lua_isnil(L, -1);
  lua_pop(L, 1);
  return ok ? 1 : fail(failed, VALUE_TAGS);
}

int clua_layout_check(lua_State *L, const char **failed) {
  if (__atomic_load_n(&forced, __ATOMIC_RELAXED)) {
    if (failed) *failed = "forced off";
    return 0;
  }
  if (lua_version(L) != 504) return fail(failed, VERSION);
  int top = lua_gettop(L);
  static const char *const keys[] = {"price", "open", "high", "low", "x", "symbol"};
  lua_createtable(L, 0, 6);
  int t = lua_gettop(L);
  for (int k = 0; k < 6; k++) {
    lua_pushnumber(L, 1000.25 + k);
    lua_setfield(L, t, keys[k]);
  }
  const unsigned char *table = (const unsigned char *)lua_topointer(L, t);
  if (*(const void *const *)(table + CLUA_T_NODE) == NULL) {
    lua_settop(L, top);
    return fail(failed, TABLE_NODE);
  }
  if (table[CLUA_T_LSIZENODE] != 3) { /* 6 keys: 8 nodes */
    lua_settop(L, top);
    return fail(failed, TABLE_LSIZE);
  }
  lua_pushstring(L, "price");
  const unsigned char *s = (const unsigned char *)lua_topointer(L, -1);
  lua_pop(L, 1);
  if ((s[8] & 0x0f) != LUA_TSTRING) {
    lua_settop(L, top);
    return fail(failed, STRING_TAG);
  }
  for (int k = 0; k < 6; k++) {
    if (!checkkey(L, t, keys[k], failed)) {
      lua_settop(L, top);
      return 0;
    }
  }
  lua_settop(L, top);
  if (!clua_udatalayout(L)) return fail(failed, UDATA);
  return 1;
}

/* Whether the layout facts hold for `L` (checked once per state made by clua_newstate). */
static int layoutholds(lua_State *L) {
  clua_Budget *b = clua_budgetof(L);
  if (b == NULL) return clua_layout_check(L, NULL);
  if (b->layout == 0) b->layout = clua_layout_check(L, NULL) ? 1 : -1;
  return b->layout > 0;
}

int clua_udatalayout(lua_State *L) {
  if (__atomic_load_n(&forced, __ATOMIC_RELAXED)) return 0;
  clua_Budget *b = clua_budgetof(L);
  if (b != NULL && b->layout < 0) return 0;
  int top = lua_gettop(L);
  const void *const *p = (const void *const *)lua_newuserdatauv(L, sizeof(void *), 0);
  int ok = p[-1] == NULL;
  lua_createtable(L, 0, 0);
  const void *meta = lua_topointer(L, -1);
  lua_setmetatable(L, -2);
  ok = ok && p[-1] == meta && lua_getmetatable(L, -1) && lua_topointer(L, -1) == meta;
  lua_settop(L, top);
  return ok;
}

void clua_findslots(clua_FillState *f) {
  const unsigned char *t = f->table;
  unsigned char *node = *(unsigned char *const *)(t + CLUA_T_NODE);
  for (int i = 0; i < 13; i++)
    f->slots[i] = clua_findnode(node, t[CLUA_T_LSIZENODE], f->keys[i], f->keytags[i]);
  f->node = node;
}

int clua_envguard_setup(lua_State *L, clua_EnvGuard *g, int envIdx, int libs,
                        const void *const hosts[CLUA_HOSTLIBS]) {
  memset(g, 0, sizeof *g);
  if (!layoutholds(L) || lua_type(L, envIdx) != LUA_TTABLE || libs == 0) return 0;
  envIdx = lua_absindex(L, envIdx);
  for (int i = 0; i < CLUA_HOSTLIBS; i++) {
    if (!(libs & (1 << i))) continue;
    if (hosts[i] == NULL) return 0;
    lua_pushstring(L, clua_hostlib(i));
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
    if (p == NULL || *(const void *const *)p != g->values[i] || (p[CLUA_NODE_VALUETAG] & 0x0f) != LUA_TTABLE) {
      g->env = NULL;
      return 0;
    }
    g->valuetags[i] = p[CLUA_NODE_VALUETAG];
  }
  return clua_envguard_holds(g);
}


int clua_directfill_setup(lua_State *L, clua_FillState *f, int idx, const char *const names[13]) {
  f->direct = 0;
  if (!layoutholds(L)) return 0;
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
    if (seen != probe || p[CLUA_NODE_VALUETAG] != CLUA_VNUMFLT) ok = 0;
    memcpy(p, &back, sizeof back);
    int isnum = 0;
    if (lua_getfield(L, idx, names[i]) != LUA_TNUMBER || lua_isinteger(L, -1) ||
        lua_tonumberx(L, -1, &isnum) != back)
      ok = 0;
    lua_pop(L, 1);
    lua_Integer n = 42 + i;
    memcpy(p, &n, sizeof n);
    p[CLUA_NODE_VALUETAG] = CLUA_VNUMINT;
    if (lua_getfield(L, idx, names[i]) != LUA_TNUMBER || !lua_isinteger(L, -1) ||
        lua_tointegerx(L, -1, &isnum) != n)
      ok = 0;
    lua_pop(L, 1);
    memcpy(p, &f->keys[0], sizeof f->keys[0]);
    p[CLUA_NODE_VALUETAG] = f->keytags[0];
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

