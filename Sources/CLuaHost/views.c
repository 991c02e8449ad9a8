// The kline views' metamethods and the fill of the symbol view (see clua_views.h).
#include "CLuaHost.h"

int clua_columnindex(lua_State *L) {
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

int clua_serieslength(lua_State *L) {
  const clua_ViewPayload *p = (const clua_ViewPayload *)lua_touserdata(L, 1);
  lua_pushinteger(L, p == NULL ? 0 : p->window->count);
  return 1;
}

void clua_pushfill(lua_State *L, const clua_FillState *f) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, f->fillRef);
  lua_rawgeti(L, LUA_REGISTRYINDEX, f->dataRef);
  for (int i = 0; i < 11; i++) {
    double v = f->fields[i];
    if (v != v)
      lua_pushnil(L);
    else
      lua_pushnumber(L, v);
  }
  if (f->hasTime)
    lua_pushinteger(L, f->time);
  else
    lua_pushnil(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, f->nameRef);
}

void clua_pointview(lua_State *L, clua_FillState *f, int ref) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, f->metaRef);
  lua_pushliteral(L, "__index");
  lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  f->onData = ref == f->dataRef;
}

/* Writes the fields into the data table and points the proxy at it. Runs inside a filter
   call: the memory cap is lifted meanwhile (a field set back from nil may allocate), as
   around every host function. */
static void dofill(lua_State *L, clua_FillState *f) {
  clua_Budget *b = clua_budgetof(L);
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

int clua_fillview(lua_State *L) {
  clua_FillState *f = (clua_FillState *)lua_touserdata(L, lua_upvalueindex(1));
  if (!f->filled) dofill(L, f);
  lua_rawgeti(L, LUA_REGISTRYINDEX, f->dataRef);
  lua_pushvalue(L, 2);
  lua_rawget(L, -2);
  return 1;
}

/* The iterator of `pairs(s)` (upvalue 1: the data table, which it never hands out). */
static int viewnext(lua_State *L) {
  lua_settop(L, 2);
  if (lua_next(L, lua_upvalueindex(1))) return 2;
  lua_pushnil(L);
  return 1;
}

int clua_viewpairs(lua_State *L) {
  clua_FillState *f = (clua_FillState *)lua_touserdata(L, lua_upvalueindex(1));
  if (!f->filled) dofill(L, f);
  lua_rawgeti(L, LUA_REGISTRYINDEX, f->dataRef);
  lua_pushcclosure(L, viewnext, 1);
  lua_pushnil(L);
  lua_pushnil(L);
  return 3;
}
