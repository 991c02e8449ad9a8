// The one part of the host that reads Lua 5.4's internal object layout instead of going
// through the API: the environment guard of unhooked filters, the direct fill of `s`, and the
// recognition of the host's views by the word before a userdata block. Each saves API calls
// on the hot path. The layout facts relied on are listed, by name, in lua_layout.c; they are
// checked through the API once per state (`clua_layout_check`), and each user checks its own
// setup again, so that any mismatch means the API path, never a wrong value.
#ifndef LUA_LAYOUT_H
#define LUA_LAYOUT_H

#include <lua.h>
#include <string.h>

#include "clua_classify.h"
#include "clua_views.h"

/* Lua 5.4's object layout (lobject.h, unchanged from 5.4.0 to 5.4.7):
   Table { GCObject *next; lu_byte tt, marked, flags, lsizenode; unsigned alimit;
           TValue *array; Node *node; ... }  -> lsizenode at byte 11, node at byte 24.
   Node (24 bytes) { Value value_; lu_byte tt_; lu_byte key_tt; int next; Value key_val; }.
   TString { GCObject *next; lu_byte tt; ... } -> its type tag at byte 8. */
#define CLUA_T_LSIZENODE 11
#define CLUA_T_NODE 24
#define CLUA_NODE_SIZE 24
#define CLUA_NODE_VALUETAG 8
#define CLUA_NODE_KEYTAG 9
#define CLUA_NODE_KEY 16
#define CLUA_VNIL 0x00
#define CLUA_VNUMINT 0x03
#define CLUA_VNUMFLT 0x13
#define CLUA_COLLECTABLE 0x40

/// Checks every layout fact this file relies on against the API, on scratch objects of `L`.
/// Returns 1 when all hold; else 0 and the name of the first that does not in `*failed`.
/// Answers 0 ("forced") after `clua_layout_forcefallback(1)`.
int clua_layout_check(lua_State *L, const char **failed);

/// Makes every later `clua_layout_check` fail, so that the API paths run (for tests that
/// compare both paths).
void clua_layout_forcefallback(int on);

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
    if (p[CLUA_NODE_KEYTAG] == keytag && *(const void *const *)(p + CLUA_NODE_KEY) == key)
      return (unsigned char *)p;
  }
  return NULL;
}

/// Whether a strategy's environment still holds the host's libraries its filter calls
/// (filters of `clua_filterclass` 2 run without the count hook only while it does), read
/// straight from the environment's nodes for their names: an API lookup per filter call cost
/// about what the hook does. The nodes are found again when the node array moved or was
/// resized; any mismatch answers 0 (the call is then hooked), never a wrong 1: a node of this
/// table whose key is "ta" and whose value is the host's `ta` means exactly that.
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
  if (*(const unsigned char *const *)(t + CLUA_T_NODE) != g->node
      || t[CLUA_T_LSIZENODE] != g->lsize)
    clua_envguard_find(g);
  for (int i = 0; i < g->count; i++) {
    const unsigned char *p = g->slots[i];
    if (p == NULL || p[CLUA_NODE_KEYTAG] != g->keytags[i]
        || *(const void *const *)(p + CLUA_NODE_KEY) != g->keys[i]
        || p[CLUA_NODE_VALUETAG] != g->valuetags[i] || *(const void *const *)p != g->values[i])
      return 0;
  }
  return 1;
}

/// Arms `g` for the environment table at `envIdx` and the libraries in `libs` (bit i:
/// `clua_hostlib(i)`), whose host tables are `hosts[i]` (from `lua_topointer`); checks this
/// Lua build's layout against the API first: each node found must hold what `lua_rawget`
/// reads. Returns 1 when armed and holding; else the guard stays off (calls keep the hook).
int clua_envguard_setup(lua_State *L, clua_EnvGuard *g, int envIdx, int libs,
                        const void *const hosts[CLUA_HOSTLIBS]);

/// Finds each field's node in the data table's node array (NULL where its key is absent).
void clua_findslots(clua_FillState *f);

/// Writes the symbol's fields straight into the data table's nodes: 13 stores instead of a
/// Lua call with 14 arguments. Returns 0, writing nothing, when it cannot: direct mode off,
/// the node array moved, or a field with a value whose key is gone (a key whose value was nil,
/// for a field the feed never sent, can be cleared by the collector); the caller then fills
/// with the Lua function, which re-creates keys, and calls `clua_findslots`.
/// No write barrier is needed: numbers are not collectable, and the name string is also held
/// by the registry (the host's reference for the symbol, kept for the state's life), so the
/// collector marks it whether or not it sees this table again.
static inline int clua_directfill(clua_FillState *f) {
  if (!f->direct || *(const unsigned char *const *)(f->table + CLUA_T_NODE) != f->node) return 0;
  for (int i = 0; i < 13; i++) {
    unsigned char *p = f->slots[i];
    int absent = i < 11 ? f->fields[i] != f->fields[i] : (i == 11 ? !f->hasTime : 0);
    int live = p && p[CLUA_NODE_KEYTAG] == f->keytags[i]
               && *(const void *const *)(p + CLUA_NODE_KEY) == f->keys[i];
    if (!live && !absent) return 0;
  }
  for (int i = 0; i < 11; i++) {
    unsigned char *p = f->slots[i];
    double v = f->fields[i];
    if (v != v) {
      if (p && p[CLUA_NODE_KEYTAG] == f->keytags[i]) p[CLUA_NODE_VALUETAG] = CLUA_VNIL;
    } else {
      memcpy(p, &v, sizeof v);
      p[CLUA_NODE_VALUETAG] = CLUA_VNUMFLT;
    }
  }
  unsigned char *time = f->slots[11];
  if (f->hasTime) {
    memcpy(time, &f->time, sizeof f->time);
    time[CLUA_NODE_VALUETAG] = CLUA_VNUMINT;
  } else if (time && time[CLUA_NODE_KEYTAG] == f->keytags[11]) {
    time[CLUA_NODE_VALUETAG] = CLUA_VNIL;
  }
  memcpy(f->slots[12], &f->name, sizeof f->name);
  f->slots[12][CLUA_NODE_VALUETAG] = f->nametag;
  return 1;
}

/// Turns direct writes on for the data table at `idx` (holding all 13 field keys, with any
/// values), after checking this Lua build has the layout above: each field written through
/// the API must appear in the node found for it, and a value written into the node must be
/// what the API reads back. Returns 1 when on; on any mismatch direct mode stays off and
/// fills go through the Lua function. Field values are left as `false`.
int clua_directfill_setup(lua_State *L, clua_FillState *f, int idx, const char *const names[13]);

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
/// as Lua 5.4's `Udata0` lays them out. `clua_viewof` reads the word only when this
/// answered 1.
int clua_udatalayout(lua_State *L);

/// The block of the full userdata at `idx` if its metatable is the table at address `meta`,
/// else NULL: with `layout` (`clua_udatalayout` answered 1) two API calls and a compare;
/// else through `lua_getmetatable`.
static inline void *clua_viewof(lua_State *L, int idx, const void *meta, int layout) {
  if (meta == NULL || lua_type(L, idx) != LUA_TUSERDATA) return NULL;
  void *p = lua_touserdata(L, idx);
  if (layout) return ((const void *const *)p)[-1] == meta ? p : NULL;
  const void *m;
  clua_touserdata_meta(L, idx, &m);
  return m == meta ? p : NULL;
}

#endif
