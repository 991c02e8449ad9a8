#if canImport(Glibc)
  import Glibc
#endif
import CLua
import CLuaHost
import LuaKit
import Tracking
import Support

/// One worker's Lua state with every strategy compiled into it (``compile(_:)``), its views
/// of the market (``SymbolView``, ``KlineViews``), the `ta` library and its caches, and the
/// filter call (``call(_:callClass:envGuard:proxy:wantsInfo:tag:path:)``).
///
/// Owned by exactly one thread for its whole life (the worker's), never shared.
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
  package private(set) var strategies: [Compiled] = []
  package var L: OpaquePointer { state.lua.L }
  /// The worker's `s` and kline views.
  package let symbolView: SymbolView
  package let klineViews: KlineViews
  /// The host's libraries filters may call without the count hook (`clua_hostlib`: `ta`,
  /// `math`), as strategies see them, for `clua_EnvGuard` (kept alive by the sandbox's
  /// globals for the state's life).
  var hostLibraries: [UnsafeRawPointer?] = []
  var validatorRef: Int32 = 0
  private var pluginSources: [StrategySource] = []
  /// Indicator results cached per symbol while its data is unchanged: strategies asking for
  /// the same indicator on the same symbol in a cycle compute it once per worker.
  package let indicatorCache = IndicatorTable<IndicatorValue>()
  /// Incremental EMA/RSI states per symbol column and period (see `TALibrary.incremental`).
  package let smoothingStates: SmoothingTable
  /// Scratch memory for `ta` inputs given as Lua tables (reused; grows, never shrinks).
  private var scratch: [UnsafeMutablePointer<Double>] = []
  private var scratchCapacity: [Int] = []

  package init(store: MarketStore, limits: SandboxLimits) throws(EngineError) {
    self.store = store
    self.budget = Int32(clamping: limits.instructionBudget)
    smoothingStates = SmoothingTable(symbols: store.symbols.capacity)
    do {
      state = try SandboxedState(memoryLimit: limits.memoryBytes)
      state.instructionBudget = budget
      let lua = state.lua
      klineViews = KlineViews(lua: lua, store: store)
      try lua.load(Self.validator, chunkName: "=strategy table")
      try lua.protectedCall(arguments: 0, results: 1)
      validatorRef = lua.ref()
      symbolView = try SymbolView(
        lua: lua, store: store, klinesRef: klineViews.klinesRef, capacity: store.symbols.capacity)
      try installTA()
      hostLibraries = (0..<CLUA_HOSTLIBS).map { i in
        clua_hostlib(i).flatMap { state.hostLibrary(String(cString: $0)) }
      }
      // The message handler lives at stack index 1 from now on (see `call`).
      lua.top = 0
      lua_pushcclosure(L, clua_messagehandler, 0)
    } catch {
      throw EngineError("cannot set up the Lua state: \(error.message)")
    }
  }

  deinit {
    for p in scratch { p.deallocate() }
  }

  /// Points the worker's views at `symbol` (refilling `s` if the symbol or its data
  /// changed); returns the registry reference of `s`, the proxy handed to filters.
  @inline(__always) @discardableResult
  package func prepareView(_ symbol: Int32) -> Int32 {
    klineViews.point(at: symbol)
    return symbolView.point(at: symbol)
  }

  /// The views of strategies with `trigger = "close"`: their kline series end at the last
  /// closed candle. Made on first use (most workers never need them).
  private var closedViews: (symbol: SymbolView, klines: KlineViews)?

  /// Points the closed-candle views at `symbol`; returns the registry reference of their `s`.
  /// Nil only if the views cannot be made (the host is out of memory).
  package func prepareClosedView(_ symbol: Int32) -> Int32? {
    if closedViews == nil {
      let klines = KlineViews(lua: state.lua, store: store, closedOnly: true)
      guard
        let view = try? SymbolView(
          lua: state.lua, store: store, klinesRef: klines.klinesRef,
          capacity: store.symbols.capacity)
      else { return nil }
      closedViews = (view, klines)
      // The message handler stays at stack index 1 (see `call`).
      lua_settop(L, 1)
    }
    guard let views = closedViews else { return nil }
    views.klines.point(at: symbol)
    return views.symbol.point(at: symbol)
  }

  /// The payload of a kline view (either set of views) at stack index `idx`, if it is one.
  @inline(__always)
  private func payload(_ idx: Int32, series: Bool) -> KlineViews.ViewPayload? {
    let views = klineViews
    if let p = series ? views.seriesPayload(idx) : views.columnPayload(idx) { return p }
    guard let closed = closedViews?.klines else { return nil }
    return series ? closed.seriesPayload(idx) : closed.columnPayload(idx)
  }

  /// Chooses how the next evaluation pass fills `s` (see ``SymbolView/beginPass()``).
  package func beginPass() {
    symbolView.beginPass()
    closedViews?.symbol.beginPass()
  }

  /// Whether `s` is filled by writing its table's nodes (the layout check passed).
  package var directFill: Bool { symbolView.directFill }

  /// The payload of the kline series view at stack index `idx`, if it is one.
  @inline(__always)
  package func seriesPayload(_ idx: Int32) -> KlineViews.ViewPayload? {
    payload(idx, series: true)
  }

  /// The payload of the kline column view at stack index `idx`, if it is one.
  @inline(__always)
  package func columnPayload(_ idx: Int32) -> KlineViews.ViewPayload? {
    payload(idx, series: false)
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

  /// Full file paths in a Lua message whose chunk name Lua shortened.
  package func restorePaths(_ message: String, _ path: String) -> String {
    guard message.hasPrefix("...") else { return message }
    return LuaError.restoringPaths(in: message, from: [path] + pluginSources.map(\.path))
  }

  package var memoryInUse: Int { state.lua.memoryInUse }

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
}
