#if canImport(Glibc)
  import Glibc
#endif
import CLua
import CLuaHost
import LuaKit
import Support
import Tracking

/// The kline views of one worker's Lua state: `s.klines`, one series view per interval and
/// one view per column, shared by every symbol the worker evaluates. They read the symbol
/// being evaluated (``current``) through a small per-interval window of its candles
/// (``windows``), rewritten by ``point(at:)`` before that symbol's filters run; `k.close[i]`
/// and `#k` are C metamethods reading the window, so candles are never copied into Lua.
/// Shared views stay in the core's cache where per-symbol ones were a cache miss each; a
/// view is therefore valid during the filter call that received it.
///
/// Owned by one ``StrategyRuntime``, on its worker's thread.
package final class KlineViews {
  /// Payload of a series or column userdata (a C struct: the C metamethods read it too).
  package typealias ViewPayload = clua_ViewPayload

  private let lua: LuaState
  private var L: OpaquePointer { lua.L }
  private let store: MarketStore
  /// The symbol the views read: the one last pointed at.
  package let current: UnsafeMutablePointer<Int32>
  /// Per interval, the current symbol's candles as the C metamethods read them.
  package let windows: UnsafeMutablePointer<clua_SeriesWindow>
  /// The shared `s.klines` object, and the table behind it: interval name → series view,
  /// holding only the intervals where the current symbol has candles.
  package private(set) var klinesRef: Int32 = LUA_NOREF
  private var klinesDataRef: Int32 = LUA_NOREF
  /// Per interval: its series view and its name (registry references), and whether the
  /// current symbol's entry is in the `s.klines` table. Behind pointers, not arrays: an
  /// array property read across the Lua calls of ``point(at:)`` pays dynamic exclusivity
  /// checks per symbol.
  private let seriesRefs: UnsafeMutablePointer<Int32>
  private let intervalNameRefs: UnsafeMutablePointer<Int32>
  private let klinesPresent: UnsafeMutablePointer<Bool>
  /// Intervals whose series views exist (store interval indices 0..<builtIntervals).
  private var builtIntervals = 0
  private var columnMetaRef: Int32 = 0
  /// Addresses of the view metatables (one per interval for series views, one for all
  /// columns), for ``seriesPayload(_:)``/``columnPayload(_:)``.
  private var seriesMetas: [UnsafeRawPointer?] = []
  private var columnMeta: UnsafeRawPointer?
  /// `clua_udatalayout` of this state: 1 when views can be recognised without API calls.
  private var udataLayout: Int32 = 0

  private static let columnNames: [(String, KlineSeries.Column)] = [
    ("open", .open), ("high", .high), ("low", .low), ("close", .close), ("volume", .volume),
    ("time", .time),
  ]

  /// The views end at the last closed candle (for strategies with `trigger = "close"`): a
  /// newest candle still open is left out.
  let closedOnly: Bool

  /// Creates the column metatable and `s.klines` in `lua`; series views are made as the
  /// store learns intervals.
  init(lua: LuaState, store: MarketStore, closedOnly: Bool = false) {
    self.lua = lua
    self.store = store
    self.closedOnly = closedOnly
    klinesPresent = .allocate(capacity: MarketStore.maxIntervals)
    klinesPresent.initialize(repeating: false, count: MarketStore.maxIntervals)
    seriesRefs = .allocate(capacity: MarketStore.maxIntervals)
    seriesRefs.initialize(repeating: LUA_NOREF, count: MarketStore.maxIntervals)
    intervalNameRefs = .allocate(capacity: MarketStore.maxIntervals)
    intervalNameRefs.initialize(repeating: LUA_NOREF, count: MarketStore.maxIntervals)
    current = .allocate(capacity: 1)
    current.initialize(to: 0)
    windows = .allocate(capacity: MarketStore.maxIntervals)
    windows.initialize(repeating: clua_SeriesWindow(), count: MarketStore.maxIntervals)
    // The metatable of every column view (`k.close`): `k.close[i]` reads the store.
    lua_createtable(L, 0, 4)
    lua_pushcclosure(L, clua_columnindex, 0)
    lua_setfield(L, -2, "__index")
    lua_pushcclosure(L, clua_serieslength, 0)
    lua_setfield(L, -2, "__len")
    protectMetatable(lua, name: "kline column")
    columnMeta = lua_topointer(L, -1)
    columnMetaRef = lua.ref()
    udataLayout = clua_udatalayout(L)
    makeKlines()
  }

  deinit {
    klinesPresent.deallocate()
    seriesRefs.deallocate()
    intervalNameRefs.deallocate()
    current.deallocate()
    windows.deallocate()
  }

  /// Points the views at `symbol` and keeps `s.klines` to the intervals where it has candles.
  @inline(__always)
  package func point(at symbol: Int32) {
    current.pointee = symbol
    if builtIntervals < store.intervalCount { buildSeriesViews() }
    var klinesOnStack = false
    for iv in 0..<builtIntervals {
      setWindow(iv, symbol: symbol)
      // `s.klines[iv]` is there only when the symbol has candles in the interval.
      let has = windows[iv].count > 0
      if has != klinesPresent[iv] {
        if !klinesOnStack {
          lua_rawgeti(L, clua_registryindex(), lua_Integer(klinesDataRef))
          klinesOnStack = true
        }
        lua_rawgeti(L, clua_registryindex(), lua_Integer(intervalNameRefs[iv]))
        if has {
          lua_rawgeti(L, clua_registryindex(), lua_Integer(seriesRefs[iv]))
        } else {
          lua_pushnil(L)
        }
        lua_rawset(L, -3)
        klinesPresent[iv] = has
      }
    }
    if klinesOnStack { clua_pop(L, 1) }
  }

  /// Points interval `iv`'s window at `symbol`'s candles.
  @inline(__always)
  private func setWindow(_ iv: Int, symbol: Int32) {
    let w = windows + iv
    guard let series = store.series(symbol, interval: iv) else {
      w.pointee.count = 0
      return
    }
    if closedOnly, !series.newestClosed {
      // Without the open newest candle: the others are all in storage.
      w.pointee.count = lua_Integer(series.count - 1)
      w.pointee.pending = 0
      w.pointee.columns.0 = series.values(.time)
      w.pointee.columns.1 = series.values(.open)
      w.pointee.columns.2 = series.values(.high)
      w.pointee.columns.3 = series.values(.low)
      w.pointee.columns.4 = series.values(.close)
      w.pointee.columns.5 = series.values(.volume)
      return
    }
    w.pointee.count = lua_Integer(series.count)
    w.pointee.columns.0 = series.values(.time)
    w.pointee.columns.1 = series.values(.open)
    w.pointee.columns.2 = series.values(.high)
    w.pointee.columns.3 = series.values(.low)
    w.pointee.columns.4 = series.values(.close)
    w.pointee.columns.5 = series.values(.volume)
    w.pointee.pending = series.pending ? 1 : 0
    if series.pending {
      w.pointee.newest = (
        series.newest(.time), series.newest(.open), series.newest(.high), series.newest(.low),
        series.newest(.close), series.newest(.volume)
      )
    }
  }

  /// Creates the shared series views of intervals the store has learnt since the last call
  /// (``point(at:)`` lists them in `s.klines` for symbols with candles there).
  private func buildSeriesViews() {
    let intervals = store.intervalCount
    while builtIntervals < intervals {
      pushSeriesView(interval: builtIntervals)
      seriesRefs[builtIntervals] = lua.ref()
      lua_pushstring(L, store.intervals[builtIntervals])
      intervalNameRefs[builtIntervals] = lua.ref()
      klinesPresent[builtIntervals] = false
      builtIntervals += 1
    }
  }

  /// Pushes the series view of `interval`: a userdata whose metatable (its own, one per
  /// interval) has the column views in an `__index` table, so `k.close` is a VM table read
  /// with no C call; `#k` is the current symbol's candle count.
  private func pushSeriesView(interval: Int) {
    let base = store.seriesSlot(0, interval: interval)
    // A view's payload: which interval's window (and store slots) it reads, which column.
    func pushView(column: Int32) {
      clua_newuserdata(L, MemoryLayout<ViewPayload>.size, 0)?.storeBytes(
        of: ViewPayload(
          window: UnsafePointer(windows + interval), base: UnsafeMutableRawPointer(base),
          current: UnsafePointer(current), interval: Int32(interval), column: column,
          closedOnly: closedOnly ? 1 : 0),
        as: ViewPayload.self)
    }
    pushView(column: -1)
    lua_createtable(L, 0, 4)  // the metatable
    lua_createtable(L, 0, Int32(Self.columnNames.count))  // its __index: the columns
    for (name, column) in Self.columnNames {
      pushView(column: Int32(column.rawValue))
      lua.push(ref: columnMetaRef)
      lua_setmetatable(L, -2)
      lua_setfield(L, -2, name)
    }
    lua_setfield(L, -2, "__index")
    lua_pushcclosure(L, clua_serieslength, 0)
    lua_setfield(L, -2, "__len")
    protectMetatable(lua, name: "kline series")
    seriesMetas.append(lua_topointer(L, -1))
    lua_setmetatable(L, -2)
  }

  /// Creates the shared `s.klines` object: a userdata whose `__index` is a plain table
  /// (interval name → series view, kept by ``point(at:)`` to the intervals where the
  /// current symbol has candles), so `s.klines["1m"]` is a VM table read with no C call.
  private func makeKlines() {
    lua_createtable(L, 0, 4)
    lua_pushvalue(L, -1)
    klinesDataRef = lua.ref()
    _ = clua_newuserdata(L, 0, 0)
    lua_createtable(L, 0, 4)
    lua_pushvalue(L, -3)  // stack: data, klines, meta, data
    lua_setfield(L, -2, "__index")
    protectMetatable(lua, name: "klines")
    lua_setmetatable(L, -2)
    klinesRef = lua.ref()
    clua_pop(L, 1)
  }

  /// The payload of the kline series view at stack index `idx`, if it is one.
  @inline(__always)
  package func seriesPayload(_ idx: Int32) -> ViewPayload? {
    var meta: UnsafeRawPointer?
    guard let p = clua_touserdata_meta(L, idx, &meta), meta != nil,
      seriesMetas.contains(meta)
    else { return nil }
    return p.load(as: ViewPayload.self)
  }

  /// The payload of the kline column view at stack index `idx`, if it is one.
  @inline(__always)
  package func columnPayload(_ idx: Int32) -> ViewPayload? {
    clua_viewof(L, idx, columnMeta, udataLayout)?.load(as: ViewPayload.self)
  }
}

extension clua_ViewPayload {
  /// The symbol the view reads now.
  @inline(__always) package var symbol: Int32 { current.pointee }
  /// The store's slot for the current symbol's series in this view's interval.
  @inline(__always) package var slot: UnsafeMutablePointer<KlineSeries?> {
    base.assumingMemoryBound(to: KlineSeries?.self) + Int(current.pointee)
  }
}
