// Filter classification for the instruction budget: which filters provably stay within it
// and may run without Lua's count hook. Reads a function's bytecode through `lua_dump` (the
// dump format of Lua 5.4's ldump.c; the opcodes of its lopcodes.h, by name below).
#include "CLuaHost.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Lua 5.4's opcodes, in lopcodes.h order (their numbers are the dump's). */
enum {
  OP_MOVE, OP_LOADI, OP_LOADF, OP_LOADK, OP_LOADKX, OP_LOADFALSE, OP_LFALSESKIP, OP_LOADTRUE,
  OP_LOADNIL, OP_GETUPVAL, OP_SETUPVAL, OP_GETTABUP, OP_GETTABLE, OP_GETI, OP_GETFIELD,
  OP_SETTABUP, OP_SETTABLE, OP_SETI, OP_SETFIELD, OP_NEWTABLE, OP_SELF, OP_ADDI, OP_ADDK,
  OP_SUBK, OP_MULK, OP_MODK, OP_POWK, OP_DIVK, OP_IDIVK, OP_BANDK, OP_BORK, OP_BXORK, OP_SHRI,
  OP_SHLI, OP_ADD, OP_SUB, OP_MUL, OP_MOD, OP_POW, OP_DIV, OP_IDIV, OP_BAND, OP_BOR, OP_BXOR,
  OP_SHL, OP_SHR, OP_MMBIN, OP_MMBINI, OP_MMBINK, OP_UNM, OP_BNOT, OP_NOT, OP_LEN, OP_CONCAT,
  OP_CLOSE, OP_TBC, OP_JMP, OP_EQ, OP_LT, OP_LE, OP_EQK, OP_EQI, OP_LTI, OP_LEI, OP_GTI,
  OP_GEI, OP_TEST, OP_TESTSET, OP_CALL, OP_TAILCALL, OP_RETURN, OP_RETURN0, OP_RETURN1,
  OP_FORLOOP, OP_FORPREP, OP_TFORPREP, OP_TFORCALL, OP_TFORLOOP, OP_SETLIST, OP_CLOSURE,
  OP_VARARG, OP_VARARGPREP, OP_EXTRAARG, NUM_OPCODES
};

/* The dump's tag for a short string constant (LUA_VSHRSTR). */
#define DUMP_SHORT_STRING 4

static const char *const hostlibs[CLUA_HOSTLIBS] = {"ta", "math"};

const char *clua_hostlib(int i) { return i >= 0 && i < CLUA_HOSTLIBS ? hostlibs[i] : NULL; }

typedef struct {
  unsigned char *bytes;
  size_t count, capacity;
} DumpBuffer;

static int dumpwriter(lua_State *L, const void *p, size_t size, void *ud) {
  (void)L;
  DumpBuffer *d = (DumpBuffer *)ud;
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

/* Reads one `dumpSize` value (7 bits per byte, most significant first, the last byte has
   bit 7 set) at `*at`; 0 on a malformed buffer. */
static int readsize(const DumpBuffer *d, size_t *at, size_t *value) {
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

/* Which host library constant `k` of the dumped function names (its index + 1), or 0 (`ks`
   holds each constant's offset in the dump, or 0 for a constant that is not a string). */
static int khostlib(const DumpBuffer *d, const size_t *ks, size_t nk, unsigned k) {
  if (k >= nk || ks[k] == 0 || d->bytes[ks[k] - 1] != DUMP_SHORT_STRING) return 0;
  size_t at = ks[k], size = 0;
  if (!readsize(d, &at, &size) || size == 0 || at + size - 1 > d->count) return 0;
  for (int i = 0; i < CLUA_HOSTLIBS; i++)
    if (strlen(hostlibs[i]) == size - 1 && memcmp(d->bytes + at, hostlibs[i], size - 1) == 0)
      return i + 1;
  return 0;
}

int clua_filterclass(lua_State *L, int idx, lua_Integer budget, int envIdx,
                                   int *libs) {
  *libs = 0;
  if (!lua_isfunction(L, idx) || lua_iscfunction(L, idx)) return 1;
  idx = lua_absindex(L, idx);
  if (envIdx) envIdx = lua_absindex(L, envIdx);
  DumpBuffer d = {NULL, 0, 0};
  lua_pushvalue(L, idx);
  int failed = lua_dump(L, dumpwriter, &d, 1);
  lua_pop(L, 1);
  int needs = 1, calls = 0, writes = 0;
  /* Header: "\x1bLua", version 0x54, format 0, LUAC_DATA (6), 3 sizes, LUAC_INT (8),
     LUAC_NUM (8): 31 bytes; then the main function's upvalue count (1 byte). */
  size_t at = 32, source = 0, line = 0, last = 0, size = 0;
  if (!failed && d.count > 35 && memcmp(d.bytes, "\x1bLua\x54\x00", 6) == 0 && d.bytes[12] == 4
      && readsize(&d, &at, &source) && source == 0 /* stripped: no source */
      && readsize(&d, &at, &line) && readsize(&d, &at, &last) && (at += 3)
      && readsize(&d, &at, &size) && size * 8 + 64 < (size_t)budget
      && at + size * 4 <= d.count) {
    needs = 0;
    for (size_t i = 0; i < size && !needs; i++) {
      uint32_t ins;
      memcpy(&ins, d.bytes + at + i * 4, 4);
      unsigned op = ins & 0x7f;
      if (op == OP_JMP) /* only forward */
        needs = (int32_t)(ins >> 7) - 16777215 < 0;
      else /* to-be-closed variables (`__close`), the loops, and any opcode 5.4 does not have */
        needs = op == OP_TBC || (op >= OP_FORLOOP && op <= OP_TFORLOOP) || op >= NUM_OPCODES;
      calls += op == OP_CALL || op == OP_TAILCALL;
      writes |= op == OP_SETUPVAL || (op >= OP_SETTABUP && op <= OP_SETFIELD) || op == OP_SETLIST
                || op == OP_CLOSURE;
    }
  }
  if (!needs && calls) needs = (writes || !envIdx) ? 1 : 2;
  if (needs == 2) {
    size_t code = at, nk = 0;
    at = code + size * 4;
    size_t *ks = NULL;
    unsigned char *target = (unsigned char *)calloc(size + 2, 1);
    int ok = target != NULL && readsize(&d, &at, &nk) && nk < (1u << 20);
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
      ok = readsize(&d, &at, &len) && len > 0 && (at += len - 1) <= d.count;
    }
    /* Where control can arrive other than from the instruction before. */
    for (size_t i = 0; ok && i < size; i++) {
      uint32_t ins;
      memcpy(&ins, d.bytes + code + i * 4, 4);
      unsigned op = ins & 0x7f;
      if (op == OP_JMP) {
        long t = (long)i + 1 + ((long)(ins >> 7) - 16777215);
        if (t >= 0 && t <= (long)size) target[t] = 1;
      } else if (op == OP_LFALSESKIP || (op >= OP_EQ && op <= OP_TESTSET)) { /* skip one */
        target[i + 2] = 1;
      }
    }
    for (size_t c = 0; ok && c < size; c++) {
      uint32_t call;
      memcpy(&call, d.bytes + code + c * 4, 4);
      if ((call & 0x7f) != OP_CALL && (call & 0x7f) != OP_TAILCALL) continue;
      unsigned a = (call >> 7) & 0xff;
      int found = 0;
      for (size_t j = c; j-- > 1;) {
        if (target[j + 1]) break; /* control may arrive between j and the call */
        uint32_t ins;
        memcpy(&ins, d.bytes + code + j * 4, 4);
        unsigned op = ins & 0x7f, ja = (ins >> 7) & 0xff;
        if (op == OP_GETFIELD && ja == a) { /* R[a] := R[b][K[c]] */
          uint32_t prev;
          memcpy(&prev, d.bytes + code + (j - 1) * 4, 4);
          unsigned b = (ins >> 16) & 0xff, up = (prev >> 16) & 0xff;
          /* GETTABUP R[b] := UpValue[up][K["LIB"]], the upvalue being the environment */
          int lib = 0;
          if (!target[j] && (prev & 0x7f) == OP_GETTABUP && ((prev >> 7) & 0xff) == b
              && (lib = khostlib(&d, ks, nk, (prev >> 24) & 0xff)) != 0
              && lua_getupvalue(L, idx, (int)up + 1) != NULL) {
            found = lua_rawequal(L, -1, envIdx);
            lua_pop(L, 1);
            if (found) *libs |= 1 << (lib - 1);
          }
          break;
        }
        /* A jump, a test, or an instruction that may write R[a] or below (the binary
           metamethod fallbacks write none). */
        if (op == OP_JMP || (op >= OP_EQ && op <= OP_TESTSET)
            || (ja <= a && !(op >= OP_MMBIN && op <= OP_MMBINK)))
          break;
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
int clua_needsbudget(lua_State *L, int idx, lua_Integer budget) {
  int libs = 0;
  return clua_filterclass(L, idx, budget, 0, &libs);
}

