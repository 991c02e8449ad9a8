// The market views strategies read: kline series and columns (C metamethods over the
// store's columns) and the symbol view `s` (a data table filled on first use).
#ifndef CLUA_VIEWS_H
#define CLUA_VIEWS_H

#include <lua.h>

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

/// Payload of a kline series or column view (a C struct so that the C metamethods and the
/// Swift host agree on its layout).
typedef struct {
  const clua_SeriesWindow *window; /* the current symbol's candles in this interval */
  void *base;                      /* host: the store's slot of symbol 0 in this interval */
  const int *current;              /* host: the symbol being evaluated */
  int interval;
  int column;                      /* -1 for a series view */
  int closedOnly;                  /* the view ends at the last closed candle */
} clua_ViewPayload;

/// `k.close[i]`: the hottest metamethod (strategies loop over candles with it), in C so that
/// it costs no trampoline: never raises, nil outside 1..#k.
int clua_columnindex(lua_State *L);

/// `#k` / `#k.close`: the current symbol's candle count in the view's interval.
int clua_serieslength(lua_State *L);

/// The worker's `s` fills itself on first use (see the Swift `SymbolView`): the host writes
/// the symbol's ticker fields here when it moves to another symbol and points the proxy's
/// `__index` at a trigger table; the first field read that misses in it calls
/// `clua_fillview`, which writes the fields into the data table and points the proxy at the
/// data table, so later reads are plain table reads. Filters that read no ticker field
/// (kline-only ones) never pay for the fill.
typedef struct {
  double fields[11]; /* price open high low volume quote_volume change change_pct vwap bid ask;
                        NaN: never sent */
  lua_Integer time;
  int hasTime;
  int nameRef; /* the symbol's name (a Lua string) */
  int fillRef; /* fill(t, 11 fields, time, symbol) */
  int dataRef; /* the data table */
  int metaRef; /* the proxy's metatable */
  int filled;  /* 1 once the data table holds this symbol */
  int onData;  /* 1 while the proxy's __index is the data table (else the trigger) */
  int fills;   /* fills done (the host reads and resets it) */
  /* Direct writes (see clua_directfill): the data table, its node array when the slots were
     found, each field's node, and the key strings (address and tag) the nodes must hold. */
  int direct;
  const unsigned char *table;
  const unsigned char *node;
  unsigned char *slots[13];
  const void *keys[13];
  unsigned char keytags[13];
  const void *name; /* the symbol's name string (address) and its value tag */
  unsigned char nametag;
} clua_FillState;

/// Pushes the fill function and its 14 arguments (data table, 11 fields, time, name).
void clua_pushfill(lua_State *L, const clua_FillState *f);

/// Points the proxy (its metatable's `__index`) at the table registered as `ref`: the data
/// table or the trigger table.
void clua_pointview(lua_State *L, clua_FillState *f, int ref);

/// `__index` of the trigger table (upvalue 1: the `clua_FillState`): fills, then answers.
int clua_fillview(lua_State *L);

/// `__pairs` of `s` (upvalue 1: the `clua_FillState`): fills if needed, then iterates.
int clua_viewpairs(lua_State *L);

#endif
