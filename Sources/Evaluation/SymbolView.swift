#if canImport(Glibc)
  import Glibc
#endif
import CLua
import CLuaHost
import LuaKit
import Support
import Tracking

/// The symbol view `s` of one worker's Lua state: one object for every symbol the worker
/// evaluates, not one per symbol. A read-only proxy whose `__index` is a data table holding
/// the fields of the symbol being evaluated, so `s.price` is a plain table read in the VM, no
/// C call and no allocation per evaluation. Moving to another symbol points the proxy at a
/// trigger table instead, whose C `__index` fills the data table on the first field read; a
/// filter that reads no ticker field pays no fill. When most symbols' fields get read, the
/// worker fills eagerly instead (see ``beginPass()``). Both ways give the same values.
///
/// Owned by one ``StrategyRuntime``, on its worker's thread.
package final class SymbolView {
  private let lua: LuaState
  private var L: OpaquePointer { lua.L }
  private let store: MarketStore
  /// Per symbol, its name as a Lua string (a registry reference, made on first use), in a
  /// flat buffer sized for `max_symbols`: the hot path reads it through a pointer.
  private let nameRefs: UnsafeMutablePointer<Int32>
  /// The same names' string addresses (`lua_topointer`; kept alive by the references).
  private let namePointers: UnsafeMutablePointer<UnsafeRawPointer?>
  /// The data table refilled per symbol, the trigger table that refills it on first use, and
  /// the read-only proxy handed to filters.
  private var dataRef: Int32 = LUA_NOREF
  private var triggerRef: Int32 = LUA_NOREF
  package private(set) var proxyRef: Int32 = LUA_NOREF
  private let fillState: UnsafeMutablePointer<clua_FillState>
  private var fillRef: Int32 = LUA_NOREF
  /// The symbol, and its store version, whose fields the data table holds.
  private var filledSymbol: Int32 = -1
  private var filledVersion: UInt64 = .max

  /// Creates `s` in `lua` (`klinesRef`: the shared `s.klines`), for up to `capacity` symbols.
  init(lua: LuaState, store: MarketStore, klinesRef: Int32, capacity: Int) throws(LuaError) {
    self.lua = lua
    self.store = store
    nameRefs = .allocate(capacity: capacity)
    nameRefs.initialize(repeating: LUA_NOREF, count: capacity)
    namePointers = .allocate(capacity: capacity)
    namePointers.initialize(repeating: nil, count: capacity)
    fillState = .allocate(capacity: 1)
    fillState.initialize(to: clua_FillState())
    try lua.load(Self.fillSource, chunkName: "=symbol view")
    try lua.protectedCall(arguments: 0, results: 1)
    fillRef = lua.ref()
    make(klinesRef: klinesRef)
  }

  deinit {
    nameRefs.deallocate()
    namePointers.deallocate()
    fillState.deallocate()
  }

  /// Points `s` at `symbol`, refilling it only when the symbol or its data changed since the
  /// last time; returns the registry reference of `s`.
  @inline(__always)
  package func point(at symbol: Int32) -> Int32 {
    let version = store.version(symbol)
    if filledSymbol != symbol || filledVersion != version {
      filledSymbol = symbol
      filledVersion = version
      arm(symbol)
    }
    return proxyRef
  }

  /// Creates the worker's `s`, which fills itself on first use: an empty proxy whose
  /// metatable's `__index` is either the data table (holding the current symbol's fields) or,
  /// after a move to another symbol, a trigger table holding only `klines`, whose own
  /// `__index` (C, `clua_fillview`) writes the fields into the data table and points the
  /// proxy back at it. So a filter reading no ticker field (kline-only ones) costs no fill,
  /// and one reading several pays one fill per symbol, not one per field. `pairs(s)` fills
  /// too and iterates without handing out the data table; writes raise (`protect`).
  private func make(klinesRef: Int32) {
    // The data table, with every field present (its hash part sized once).
    lua_createtable(L, 0, 16)
    for name in Self.fieldNames {
      lua_pushboolean(L, 0)
      lua_setfield(L, -2, name)
    }
    lua.push(ref: klinesRef)
    lua_setfield(L, -2, "klines")
    let names = Self.fieldNames.map { strdup($0) }
    defer { for n in names { free(n) } }
    if names.count == 13, !names.contains(nil) {
      directFill = clua_directfill_setup(L, fillState, -1, names.map { UnsafePointer($0) }) != 0
    }
    dataRef = lua.ref()
    fillState.pointee.dataRef = dataRef
    fillState.pointee.fillRef = fillRef
    // The trigger table.
    lua_createtable(L, 0, 1)
    lua.push(ref: klinesRef)
    lua_setfield(L, -2, "klines")
    lua_createtable(L, 0, 1)
    lua_pushlightuserdata(L, fillState)
    lua_pushcclosure(L, clua_fillview, 1)
    lua_setfield(L, -2, "__index")
    lua_setmetatable(L, -2)
    triggerRef = lua.ref()
    // The proxy and its metatable.
    lua_createtable(L, 0, 0)
    lua_createtable(L, 0, 4)
    lua.push(ref: triggerRef)
    lua_setfield(L, -2, "__index")
    lua_pushlightuserdata(L, fillState)
    lua_pushcclosure(L, clua_viewpairs, 1)
    lua_setfield(L, -2, "__pairs")
    protectMetatable(lua, name: "symbol view")
    lua_pushvalue(L, -1)
    fillState.pointee.metaRef = lua.ref()
    lua_setmetatable(L, -2)
    proxyRef = lua.ref()
  }

  /// The fields `fill` writes (besides `klines`, set once).
  private static let fieldNames = [
    "price", "open", "high", "low", "volume", "quote_volume", "change", "change_pct", "vwap",
    "bid", "ask", "time", "symbol",
  ]

  /// Whether fills write the data table's nodes directly (`clua_directfill`): on when this
  /// Lua build's table layout passed `clua_directfill_setup`'s checks.
  package private(set) var directFill = false

  /// Points the fill at `symbol`'s name as a Lua string (a registry reference made once per
  /// symbol and worker, and the string's address for direct writes).
  @inline(__always)
  private func setName(_ symbol: Int32, _ f: UnsafeMutablePointer<clua_FillState>) {
    let ref = nameRefs + Int(symbol)
    let name = namePointers + Int(symbol)
    if ref.pointee == LUA_NOREF {
      lua_pushstring(L, store.symbols.name(at: symbol))
      name.pointee = lua_topointer(L, -1)
      ref.pointee = lua.ref()
    }
    f.pointee.nameRef = ref.pointee
    f.pointee.name = name.pointee
    if let p = name.pointee { f.pointee.nametag = clua_stringtag(p) }
  }

  /// Writes a symbol's fields into the data table: `fill(t, price, open, ..., time, symbol)`.
  /// Used when the direct fill cannot write the nodes. One call of this small Lua function
  /// costs less than the 36 API calls that would set the fields one by one, because each
  /// field store is a VM instruction on a table the VM already holds.
  private static let fillSource = """
    return function(t, price, open, high, low, volume, quote_volume, change, change_pct, vwap, bid, ask, time, symbol)
      t.price = price t.open = open t.high = high t.low = low t.volume = volume
      t.quote_volume = quote_volume t.change = change t.change_pct = change_pct t.vwap = vwap
      t.bid = bid t.ask = ask t.time = time t.symbol = symbol
    end
    """

  /// Hands `symbol`'s ticker fields to the fill. Lazily: `s` points
  /// back at the trigger table and fills on the first field read. Eagerly: filled now, in a
  /// protected call of its own, outside any filter.
  @inline(__always)
  private func arm(_ symbol: Int32) {
    let f = fillState
    let t = store.ticker(symbol)
    f.pointee.fields = (
      t.fields.price, t.fields.open, t.fields.high, t.fields.low, t.fields.volume,
      t.fields.quoteVolume, t.fields.change, t.fields.changePct, t.fields.vwap, t.fields.bid,
      t.fields.ask
    )
    f.pointee.time = lua_Integer(t.time)
    f.pointee.hasTime = t.hasTicker ? 1 : 0
    setName(symbol, f)
    f.pointee.filled = 0
    armed += 1
    if eagerFill {
      // The Lua fill called directly from here, outside any filter (`clua_dofill` is for
      // fills from inside a filter call: a C frame, the memory cap lifted).
      if clua_directfill(f) == 0 {
        clua_pushfill(L, f)
        // Trusted code, no budget or memory cap armed: fails only if the host is out of memory.
        if clua_pcall(L, 14, 0, 0) != LUA_OK {
          StandardError.line(
            "cannot fill the view of \(store.symbols.name(at: symbol)): \(lua.string(at: -1) ?? "?")"
          )
          lua_settop(L, 1)
        }
        if f.pointee.direct != 0 { clua_findslots(f) }
      }
      f.pointee.filled = 1
      if f.pointee.onData == 0 { clua_pointview(L, f, dataRef) }
    } else if f.pointee.onData != 0 {
      clua_pointview(L, f, triggerRef)
    }
  }

  /// Chooses how the next evaluation pass fills `s` (call before each): lazily while fewer
  /// than half of the symbols' views get read (kline-only strategies: no fill at all), else
  /// eagerly (a filled trigger costs a metamethod call, and the fill then runs under the
  /// instruction hook). The share is measured in lazy passes, one pass in 16 when eager.
  /// Both ways give the same values.
  package func beginPass() {
    let fills = Int(fillState.pointee.fills)
    if !eagerFill, armed >= 32 { lazyShare = Double(fills) / Double(armed) }
    passes &+= 1
    eagerFill = lazyShare > 0.5 && passes % 16 != 0
    armed = 0
    fillState.pointee.fills = 0
  }
  private var eagerFill = false
  private var lazyShare = 0.0
  private var armed = 0
  private var passes = 0
}
