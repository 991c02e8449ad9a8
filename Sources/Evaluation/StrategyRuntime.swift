#if canImport(Glibc)
  import Glibc
#endif
import CLua
import CLuaHost
import LuaKit
import Tracking
import Support

/// One worker's Lua state with every strategy compiled into it, and the symbol views.
///
/// Owned by exactly one thread for its whole life (the worker's), never shared.
///
/// How market data reaches Lua (the hot path): `s` is one object per worker, not per
/// symbol: a data table refilled with the fields of the symbol about to be evaluated (only
/// when the symbol or its store version moved), behind a read-only proxy whose `__index`
/// *is* that table, so `s.price` is a plain table lookup in the VM with no C call. Kline
/// series are userdata views whose `__index` reads the store's contiguous columns directly:
/// nothing is copied into Lua. The kline views (`s.klines`, each series, each column) are
/// shared the same way: they read the series of the symbol being evaluated (`current`).
/// Per-symbol views meant a data table, a proxy and five or six kline objects per symbol,
/// each a cache miss on a market of thousands of symbols (profiles: most of a small filter's
/// time went to those misses); shared, they stay in the core's cache. A view is therefore
/// valid during the filter call that received it (documented in the README).
///
/// Host-side Lua API calls outside `lua_pcall` (refreshing views) only push numbers into
/// pre-created tables and create small views; they raise only on out-of-memory, which the
/// engine does not cap for host work.
package final class StrategyRuntime {
  /// The check a filter of call class 2 runs before each call (`clua_EnvGuard`): its
  /// environment still holds the host's libraries it calls. Owned by the compiled strategy;
  /// read and updated only by calls on the worker's thread.
  package final class EnvGuard {
    package let pointer = UnsafeMutablePointer<clua_EnvGuard>.allocate(capacity: 1)
    package init() { pointer.initialize(to: clua_EnvGuard()) }
    deinit { pointer.deallocate() }
  }

  package struct Compiled {
    package var info: StrategyInfo
    package var filterRef: Int32
    /// What a call may run (`clua_filterclass`): 0, provably within the instruction budget
    /// (no loop, no call), so no count hook; 1, the hook; 2, within it while `envGuard` holds
    /// (calls only `ta.NAME`/`math.NAME`, and the strategy's `ta`/`math` are the host's).
    package var callClass: Int32
    /// The check of class 2 (nil for the others).
    package var envGuard: EnvGuard?
    /// Interval index in the store for each timeframe, once the interval is known.
    package var intervalIndices: [Int?]
  }

  package let state: SandboxedState
  package let store: MarketStore
  package let budget: Int32
  private(set) var strategies: [Compiled] = []
  package var L: OpaquePointer { state.lua.L }

  /// Per symbol, its name as a Lua string (a registry reference, made on first use), in a
  /// flat buffer sized for `max_symbols`: the hot path reads it through a pointer.
  private let nameRefs: UnsafeMutablePointer<Int32>
  /// The same names' string addresses (`lua_topointer`; kept alive by the references).
  private let namePointers: UnsafeMutablePointer<UnsafeRawPointer?>
  private let viewCapacity: Int
  /// The worker's one `s`: the data table refilled per symbol, the trigger table that
  /// refills it on first use, and the read-only proxy (see ``makeSymbolView()``).
  private var dataRef: Int32 = LUA_NOREF
  private var triggerRef: Int32 = LUA_NOREF
  private var proxyRef: Int32 = LUA_NOREF
  private let fillState: UnsafeMutablePointer<clua_FillState>
  /// The host's libraries filters may call without the count hook (`clua_hostlibs`: `ta`,
  /// `math`), as strategies see them, for `clua_EnvGuard` (kept alive by the sandbox's
  /// globals for the state's life).
  private var hostLibraries: [UnsafeRawPointer?] = []
  /// The symbol, and its store version, whose fields the data table holds.
  private var filledSymbol: Int32 = -1
  private var filledVersion: UInt64 = .max
  private var columnMetaRef: Int32 = 0
  /// Addresses of the view metatables (one per interval for series views, one for all
  /// columns), for ``seriesPayload(_:)``/``columnPayload(_:)``.
  private var seriesMetas: [UnsafeRawPointer?] = []
  private var columnMeta: UnsafeRawPointer?
  /// `clua_udatalayout` of this state: 1 when views can be recognised without API calls.
  private var udataLayout: Int32 = 0
  private var validatorRef: Int32 = 0
  /// The symbol the kline views read: the one last prepared (see ``prepareView(_:)``).
  package let current: UnsafeMutablePointer<Int32>
  /// Per interval, the current symbol's candles as the C metamethods read them (rewritten by
  /// ``prepareView(_:)`` for every symbol).
  package let windows: UnsafeMutablePointer<clua_SeriesWindow>
  /// The shared `s.klines` object, and the table behind it: interval name → series view,
  /// holding only the intervals where the current symbol has candles.
  private var klinesRef: Int32 = LUA_NOREF
  private var klinesDataRef: Int32 = LUA_NOREF
  /// Per interval: its series view and its name (registry references), and whether the
  /// current symbol's entry is in the `s.klines` table. (Behind pointers, not arrays: an
  /// array property read across the Lua calls of ``pointViews(at:)`` costs two dynamic
  /// exclusivity checks per symbol, ~8% of a floor filter's instructions under callgrind.)
  private let seriesRefs: UnsafeMutablePointer<Int32>
  private let intervalNameRefs: UnsafeMutablePointer<Int32>
  private let klinesPresent: UnsafeMutablePointer<Bool>
  /// Intervals whose series views exist (store interval indices 0..<builtIntervals).
  private var builtIntervals = 0

  package init(store: MarketStore, limits: SandboxLimits) throws(EngineError) {
    self.store = store
    self.budget = Int32(clamping: limits.instructionBudget)
    viewCapacity = store.symbols.capacity
    smoothingStates = SmoothingTable(symbols: viewCapacity)
    nameRefs = .allocate(capacity: viewCapacity)
    nameRefs.initialize(repeating: LUA_NOREF, count: viewCapacity)
    namePointers = .allocate(capacity: viewCapacity)
    namePointers.initialize(repeating: nil, count: viewCapacity)
    fillState = .allocate(capacity: 1)
    fillState.initialize(to: clua_FillState())
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
    do {
      state = try SandboxedState(memoryLimit: limits.memoryBytes)
      state.instructionBudget = budget
      try setUpMetatables()
    } catch {
      throw EngineError("cannot set up the Lua state: \(error.message)")
    }
  }

  // MARK: Strategies

  /// Compiles `source` into this state. On failure, the message is `path:line: message`.
  package func compile(_ source: StrategySource) throws(EngineError) -> Compiled {
    let lua = state.lua
    let top = lua.top
    defer { lua.top = top }
    do {
      try state.runChunk(source.source, path: source.path, id: source.id, keepingEnvironment: true)
      lua.push(ref: validatorRef)
      clua_insert(L, -2)
      try lua.protectedCall(arguments: 1, results: LUA_MULTRET)
    } catch {
      let message = restorePaths(error.message, source.path)
      throw EngineError(
        message.hasPrefix(source.path) ? message : "\(source.path): \(message)")
    }
    // Stack: environment, filter, min_candles (or nil), description (or nil), timeframes...
    let env = top + 1
    let base = env  // the validator's results follow the environment
    let results = lua.top - base
    var timeframes: [String] = []
    if results > 3 {
      for i in 4...results { timeframes.append(lua.string(at: base + i) ?? "") }
    }
    var isNumber: Int32 = 0
    let minCandlesValue = clua_tointeger(L, base + 2, &isNumber)
    let minCandles = isNumber != 0 ? Int(minCandlesValue) : (timeframes.isEmpty ? 0 : 1)
    let description = lua_type(L, base + 3) == LUA_TSTRING ? lua.string(at: base + 3) : nil
    var libraries: Int32 = 0
    var callClass = clua_filterclass(L, base + 1, lua_Integer(budget), env, &libraries)
    var envGuard: EnvGuard? = nil
    if callClass == 2 {
      let g = EnvGuard()
      let armed = hostLibraries.withUnsafeBufferPointer {
        clua_envguard_setup(L, g.pointer, env, libraries, $0.baseAddress)
      }
      if armed != 0 { envGuard = g } else { callClass = 1 }
    }
    lua_pushvalue(L, base + 1)
    let filterRef = lua.ref()
    let info = StrategyInfo(
      id: source.id, path: source.path, description: description, timeframes: timeframes,
      minCandles: minCandles)
    return Compiled(
      info: info, filterRef: filterRef, callClass: callClass, envGuard: envGuard,
      intervalIndices: timeframes.map { store.knownIntervalIndex($0) })
  }

  /// Replaces the whole strategy list (ordered by id); filters no longer listed are released.
  package func install(_ compiled: [Compiled]) {
    let kept = Set(compiled.map(\.filterRef))
    for old in strategies where !kept.contains(old.filterRef) { state.lua.unref(old.filterRef) }
    strategies = compiled
  }

  /// The compiled strategy with this id, if installed.
  package func compiled(id: String) -> Compiled? { strategies.first { $0.info.id == id } }

  /// Hands the plugin sources to `require`; if any changed, loaded plugin values are
  /// forgotten so strategies compiled afterwards get the new versions.
  package func setPlugins(_ plugins: [StrategySource]) throws(EngineError) {
    guard plugins != pluginSources else { return }
    do {
      let names = Set(plugins.map(\.id))
      for old in pluginSources where !names.contains(old.id) {
        try state.setPlugin(old.id, path: old.path, source: nil)
      }
      for p in plugins { try state.setPlugin(p.id, path: p.path, source: p.source) }
      try state.forgetPluginValues()
    } catch {
      throw EngineError("cannot install plugins: \(error.message)")
    }
    pluginSources = plugins
  }

  private var pluginSources: [StrategySource] = []

  /// Full file paths in a Lua message whose chunk name Lua shortened.
  package func restorePaths(_ message: String, _ path: String) -> String {
    guard message.hasPrefix("...") else { return message }
    return LuaError.restoringPaths(in: message, from: [path] + pluginSources.map(\.path))
  }

  // MARK: Evaluation

  /// The result of one filter call.
  package enum Outcome {
    case match(DiffInfo?)
    case noMatch
    case notEvaluable
    case failed(String)
  }

  /// What the evaluation loop needs of each strategy, copied out once per job so the loop
  /// touches only local arrays.
  package struct Plan {
    package var filterRefs: [Int32]
    package var callClasses: [Int32]
    package var guards: [UnsafeMutablePointer<clua_EnvGuard>?]
    package var minCandles: [Int]
    /// Store interval index of each declared timeframe (-1: not seen yet, so no candles).
    package var intervals: [[Int]]
  }

  package func makePlan() -> Plan {
    Plan(
      filterRefs: strategies.map(\.filterRef), callClasses: strategies.map(\.callClass),
      guards: strategies.map { $0.envGuard?.pointer },
      minCandles: strategies.map(\.info.minCandles),
      intervals: strategies.map { c in c.info.timeframes.map { store.knownIntervalIndex($0) ?? -1 }
      })
  }

  /// Whether `symbol` has the data strategy `k` needs (`min_candles` candles in every
  /// declared timeframe; the ticker is checked by the caller).
  @inline(__always)
  package func isEvaluable(_ k: Int, symbol: Int32, plan: Plan) -> Bool {
    let minCandles = plan.minCandles[k]
    guard minCandles > 0 else { return true }
    for iv in plan.intervals[k] {
      guard iv >= 0, store.candleCount(symbol, interval: iv) >= minCandles else { return false }
    }
    return true
  }

  /// Points the worker's views at `symbol` (refilling `s` if the symbol or its data
  /// changed); returns the registry reference of `s`, the proxy handed to filters.
  @inline(__always) @discardableResult
  package func prepareView(_ symbol: Int32) -> Int32 {
    if pointViews(at: symbol) { arm(symbol) }
    return proxyRef
  }

  /// Points the kline views at `symbol` and keeps `s.klines` to its intervals; returns
  /// whether `s` must be re-armed (the symbol or its data changed since the last time).
  @inline(__always)
  private func pointViews(at symbol: Int32) -> Bool {
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
    let version = store.version(symbol)
    guard filledSymbol != symbol || filledVersion != version else { return false }
    filledSymbol = symbol
    filledVersion = version
    return true
  }

  /// Calls strategy `k`'s filter on `symbol` (whose view must be prepared); convenience for
  /// tools and tests.
  package func evaluate(_ k: Int, symbol: Int32) -> Outcome {
    let plan = makePlan()
    guard store.ticker(symbol).hasTicker, isEvaluable(k, symbol: symbol, plan: plan) else {
      return .notEvaluable
    }
    return call(
      plan.filterRefs[k], callClass: plan.callClasses[k], envGuard: plan.guards[k],
      proxy: prepareView(symbol), tag: Self.callTag(strategy: k, symbol: symbol),
      path: strategies[k].info.path)
  }

  /// What a filter call evaluates, as a watchdog on another thread reads it (`clua_tagof`):
  /// the strategy's index and the symbol's.
  @inline(__always)
  package static func callTag(strategy: Int, symbol: Int32) -> UInt64 {
    UInt64(truncatingIfNeeded: strategy) << 32 | UInt64(UInt32(bitPattern: symbol))
  }

  /// The strategy and symbol indices of a ``callTag(strategy:symbol:)``.
  package static func decodeTag(_ tag: UInt64) -> (strategy: Int, symbol: Int32) {
    (Int(tag >> 32), Int32(bitPattern: UInt32(truncatingIfNeeded: tag)))
  }

  /// One filter call: the message handler sits at stack index 1 for the state's whole life,
  /// the filter and the view are pushed from the registry, the memory cap and (unless the
  /// filter's call class says it stays within it and no strategy code has set a metatable) the
  /// instruction budget are armed for the call only.
  @inline(__always)
  package func call(
    _ filterRef: Int32, callClass: Int32, envGuard: UnsafeMutablePointer<clua_EnvGuard>?,
    proxy: Int32, wantsInfo: Bool = true, tag: UInt64, path: @autoclosure () -> String
  ) -> Outcome {
    let L = self.L
    let status = clua_callfilter(L, filterRef, proxy, budget, 1, callClass, envGuard, tag)
    defer { lua_settop(L, 1) }
    guard status == LUA_OK else {
      if status == LUA_ERRMEM {
        lua_settop(L, 1)
        clua_fullgc(L)
        return .failed("not enough memory: the strategy passed the state's memory cap")
      }
      let message = state.lua.string(at: -1) ?? "error object is not a string"
      return .failed(restorePaths(message, path()))
    }
    guard lua_toboolean(L, -2) != 0 else { return .noMatch }
    // `info` only travels on an enter line: a symbol that already matched needs none.
    guard wantsInfo else { return .match(nil) }
    return .match(info(at: -1))
  }

  /// The info value at stack index `idx` (a filter's second result).
  private func info(at idx: Int32) -> DiffInfo? {
    switch lua_type(L, idx) {
    case LUA_TNUMBER:
      if lua_isinteger(L, idx) != 0 { return .integer(Int64(lua_tointegerx(L, idx, nil))) }
      return .number(lua_tonumberx(L, idx, nil))
    case LUA_TSTRING:
      var length = 0
      guard let p = lua_tolstring(L, idx, &length) else { return nil }
      // An info string is a label, not a payload: keep the first 256 bytes (whole characters).
      let bytes = UnsafeRawBufferPointer(start: p, count: min(length, Self.maxInfoBytes))
      var info = String(decoding: bytes, as: UTF8.self)
      if length > Self.maxInfoBytes { info = String(info.prefix(while: { $0 != "\u{FFFD}" })) }
      return .string(info)
    default:
      return nil
    }
  }

  package var memoryInUse: Int { state.lua.memoryInUse }

  /// Longest `info` string kept, in bytes.
  package static let maxInfoBytes = 256

  // MARK: Views

  /// Creates the worker's `s`, which fills itself on first use: an empty proxy whose
  /// metatable's `__index` is either the data table (holding the current symbol's fields) or,
  /// after a move to another symbol, a trigger table holding only `klines`, whose own
  /// `__index` (C, `clua_fillview`) writes the fields into the data table and points the
  /// proxy back at it. So a filter reading no ticker field (kline-only ones) costs no fill,
  /// and one reading several pays one fill per symbol, not one per field. `pairs(s)` fills
  /// too and iterates without handing out the data table; writes raise (`protect`).
  private func makeSymbolView() throws(LuaError) {
    let lua = state.lua
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
    protect(name: "symbol view")
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
  private(set) var directFill = false

  /// Points the fill at `symbol`'s name as a Lua string (a registry reference made once per
  /// symbol and worker, and the string's address for direct writes).
  @inline(__always)
  private func setName(_ symbol: Int32, _ f: UnsafeMutablePointer<clua_FillState>) {
    let ref = nameRefs + Int(symbol)
    let name = namePointers + Int(symbol)
    if ref.pointee == LUA_NOREF {
      lua_pushstring(L, store.symbols.name(at: symbol))
      name.pointee = lua_topointer(L, -1)
      ref.pointee = state.lua.ref()
    }
    f.pointee.nameRef = ref.pointee
    f.pointee.name = name.pointee
    if let p = name.pointee { f.pointee.nametag = clua_stringtag(p) }
  }

  /// Writes a symbol's fields into the data table: `fill(t, price, open, ..., time, symbol)`.
  /// One call of this small Lua function (from `clua_dofill`) costs less than the 36 API calls that
  /// set the 12 fields one by one (measured side by side: ~100 ns less per symbol refresh),
  /// because each field store is a VM instruction on a table the VM already holds.
  private static let fillSource = """
    return function(t, price, open, high, low, volume, quote_volume, change, change_pct, vwap, bid, ask, time, symbol)
      t.price = price t.open = open t.high = high t.low = low t.volume = volume
      t.quote_volume = quote_volume t.change = change t.change_pct = change_pct t.vwap = vwap
      t.bid = bid t.ask = ask t.time = time t.symbol = symbol
    end
    """
  private var fillRef: Int32 = LUA_NOREF

  /// Hands `symbol`'s ticker fields to the fill (``makeSymbolView()``). Lazily: `s` points
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
            "cannot fill the view of \(store.symbols.name(at: symbol)): \(state.lua.string(at: -1) ?? "?")"
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
  /// instruction hook: measured ~40 ns per evaluation more for a ticker filter). The share
  /// is measured in lazy passes, one pass in 16 when eager. Both ways give the same values.
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

  /// Points interval `iv`'s window at `symbol`'s candles.
  @inline(__always)
  private func setWindow(_ iv: Int, symbol: Int32) {
    let w = windows + iv
    guard let series = store.series(symbol, interval: iv) else {
      w.pointee.count = 0
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
  /// (``prepareView(_:)`` lists them in `s.klines` for symbols with candles there).
  private func buildSeriesViews() {
    let intervals = store.intervalCount
    while builtIntervals < intervals {
      pushSeriesView(interval: builtIntervals)
      seriesRefs[builtIntervals] = state.lua.ref()
      lua_pushstring(L, store.intervals[builtIntervals])
      intervalNameRefs[builtIntervals] = state.lua.ref()
      klinesPresent[builtIntervals] = false
      builtIntervals += 1
    }
  }

  /// Payload of a series or column userdata (a C struct: the C metamethods read it too).
  package typealias ViewPayload = clua_ViewPayload

  private static let columnNames: [(String, KlineSeries.Column)] = [
    ("open", .open), ("high", .high), ("low", .low), ("close", .close), ("volume", .volume),
    ("time", .time),
  ]

  /// Pushes the series view of `interval`: a userdata whose metatable (its own, one per
  /// interval) has the column views in an `__index` table, so `k.close` is a VM table read
  /// with no C call; `#k` is the current symbol's candle count.
  private func pushSeriesView(interval: Int) {
    let lua = state.lua
    let base = store.seriesSlot(0, interval: interval)
    // A view's payload: which interval's window (and store slots) it reads, which column.
    func pushView(column: Int32) {
      clua_newuserdata(L, MemoryLayout<ViewPayload>.size, 0)?.storeBytes(
        of: ViewPayload(
          window: UnsafePointer(windows + interval), base: UnsafeMutableRawPointer(base),
          current: UnsafePointer(current), interval: Int32(interval), column: column),
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
    protect(name: "kline series")
    seriesMetas.append(lua_topointer(L, -1))
    lua_setmetatable(L, -2)
  }

  /// Makes the metatable on top of the stack read-only for Lua: writes raise
  /// `file:line: attempt to modify a read-only NAME`, `getmetatable` gives `false`.
  private func protect(name: String) {
    lua_pushstring(L, name)
    state.lua.push(Self.readOnlyError, upvalues: 1)
    lua_setfield(L, -2, "__newindex")
    lua_pushboolean(L, 0)
    lua_setfield(L, -2, "__metatable")
  }

  /// Creates the shared `s.klines` object: a userdata whose `__index` is a plain table
  /// (interval name → series view, kept by ``prepareView(_:)`` to the intervals where the
  /// current symbol has candles), so `s.klines["1m"]` is a VM table read with no C call.
  private func makeKlines() {
    let lua = state.lua
    lua_createtable(L, 0, 4)
    lua_pushvalue(L, -1)
    klinesDataRef = lua.ref()
    _ = clua_newuserdata(L, 0, 0)
    lua_createtable(L, 0, 4)
    lua_pushvalue(L, -3)  // stack: data, klines, meta, data
    lua_setfield(L, -2, "__index")
    protect(name: "klines")
    lua_setmetatable(L, -2)
    klinesRef = lua.ref()
    clua_pop(L, 1)
  }

  private func setUpMetatables() throws(LuaError) {
    let lua = state.lua

    // The metatable of every column view (`k.close`): `k.close[i]` reads the store.
    lua_createtable(L, 0, 4)
    lua_pushcclosure(L, clua_columnindex, 0)
    lua_setfield(L, -2, "__index")
    lua_pushcclosure(L, clua_serieslength, 0)
    lua_setfield(L, -2, "__len")
    protect(name: "kline column")
    columnMeta = lua_topointer(L, -1)
    columnMetaRef = lua.ref()
    udataLayout = clua_udatalayout(L)

    try lua.load(Self.validator, chunkName: "=strategy table")
    try lua.protectedCall(arguments: 0, results: 1)
    validatorRef = lua.ref()
    try lua.load(Self.fillSource, chunkName: "=symbol view")
    try lua.protectedCall(arguments: 0, results: 1)
    fillRef = lua.ref()
    makeKlines()
    try makeSymbolView()
    try installTA()
    hostLibraries = (0..<CLUA_HOSTLIBS).map { i in
      clua_hostlib(i).flatMap { state.hostLibrary(String(cString: $0)) }
    }
    // The message handler lives at stack index 1 from now on (see `call`).
    lua.top = 0
    lua_pushcclosure(L, clua_messagehandler, 0)
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

  /// Scratch memory for `ta` inputs given as Lua tables (reused; grows, never shrinks).
  private var scratch: [UnsafeMutablePointer<Double>] = []
  private var scratchCapacity: [Int] = []

  package func scratchBuffer(_ slot: Int, count: Int) -> UnsafeMutablePointer<Double> {
    while scratch.count <= slot {
      scratch.append(.allocate(capacity: 64))
      scratchCapacity.append(64)
    }
    if scratchCapacity[slot] < count {
      scratch[slot].deallocate()
      scratch[slot] = .allocate(capacity: count)
      scratchCapacity[slot] = count
    }
    return scratch[slot]
  }

  /// Indicator results cached per symbol while its data is unchanged: strategies asking for
  /// the same indicator on the same symbol in a cycle compute it once per worker.
  package let indicatorCache = IndicatorTable<IndicatorValue>()
  /// Incremental EMA/RSI states per symbol column and period (see `TALibrary.incremental`).
  package let smoothingStates: SmoothingTable

  deinit {
    for p in scratch { p.deallocate() }
    nameRefs.deallocate()
    namePointers.deallocate()
    klinesPresent.deallocate()
    seriesRefs.deallocate()
    intervalNameRefs.deallocate()
    fillState.deallocate()
    current.deallocate()
    windows.deallocate()
  }

  /// Checks the table a strategy returned; returns filter, min_candles, description,
  /// timeframes... Runs in a protected call: a hostile table cannot crash the host.
  private static let validator = #"""
    local type, rawget, ipairs, error, mtype, unpack = type, rawget, ipairs, error, math.type, table.unpack
    return function(t)
      if type(t) ~= "table" then
        error("strategy must return a table, got " .. type(t), 0)
      end
      local f = rawget(t, "filter")
      if type(f) ~= "function" then
        error("strategy table needs a 'filter' function, got " .. type(f), 0)
      end
      local tf, list = rawget(t, "timeframes"), {}
      if tf ~= nil then
        if type(tf) ~= "table" then error("'timeframes' must be a list of interval names like {\"1m\"}", 0) end
        for i, v in ipairs(tf) do
          if type(v) ~= "string" or v == "" then error("'timeframes'[" .. i .. "] must be an interval name like \"1m\"", 0) end
          list[#list + 1] = v
        end
      end
      local mc = rawget(t, "min_candles")
      if mc ~= nil then
        if type(mc) ~= "number" or mc < 0 or mc ~= mc // 1 or mc > 1e9 then
          error("'min_candles' must be a non-negative integer", 0)
        end
        mc = mc // 1
        if mtype(mc) == "float" then mc = math.tointeger(mc) end
      end
      local d = rawget(t, "description")
      if d ~= nil and type(d) ~= "string" then error("'description' must be a string", 0) end
      return f, mc, d, unpack(list)
    end
    """#

  // MARK: Metamethods (called from Lua through the trampoline; never raise directly)

  /// `__newindex` of every view: an error at the strategy's line (`file:line: attempt to
  /// modify a read-only kline series`).
  package static let readOnlyError: clua_SwiftFunction = { L in
    let name = lua_tolstring(L, clua_upvalueindex(2), nil).map { String(cString: $0) } ?? "view"
    luaL_where(L, 1)
    lua_pushstring(L, "attempt to modify a read-only \(name)")
    lua_concat(L, 2)
    return -1
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
