#include "CLuaHost.h"

void clua_charge(lua_State *L, size_t units) {
  (void)L;
  (void)units;
}
