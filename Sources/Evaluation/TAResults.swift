import CLua
import CLuaHost
import Indicators
import LuaKit
import Tracking

/// What a cached indicator value was computed from.
package struct IndicatorKey: Hashable {
  package var symbol: Int32
  package var interval: Int16
  package var column: Int8
  package var function: UInt8
  package var a: Int32
  package var b: Int32
  package var c: Int32
  package var d: UInt64
}

/// A cached indicator result, valid while the symbol's store version is `version`.
package struct IndicatorValue: BitwiseCopyable {
  package var version: UInt64
  package var count: Int8  // 0: nil result
  package var r0: Double
  package var r1: Double
  package var r2: Double
}

extension TALibrary {
  // MARK: Caching and results

  /// Looks up `key` in the runtime's cache (when the input is a store view), else computes.
  @inline(__always)
  package static func cached(
    _ rt: StrategyRuntime, _ key: IndicatorKey?, compute: () -> (Int8, Double, Double, Double)
  ) -> (Int8, Double, Double, Double) {
    guard let key else { return compute() }
    let version = rt.store.version(key.symbol)
    if let hit = rt.indicatorCache[key], hit.version == version {
      return (hit.count, hit.r0, hit.r1, hit.r2)
    }
    let r = compute()
    if rt.indicatorCache.count > 200_000 { rt.indicatorCache.removeAll() }
    rt.indicatorCache.set(
      key, IndicatorValue(version: version, count: r.0, r0: r.1, r1: r.2, r2: r.3))
    return r
  }

  package static func push(_ L: OpaquePointer?, _ r: (Int8, Double, Double, Double)) -> Int32 {
    switch r.0 {
    case 0:
      lua_pushnil(L)
      return 1
    case 1:
      lua_pushnumber(L, r.1)
      return 1
    case 2:
      lua_pushnumber(L, r.1)
      lua_pushnumber(L, r.2)
      return 2
    default:
      lua_pushnumber(L, r.1)
      lua_pushnumber(L, r.2)
      lua_pushnumber(L, r.3)
      return 3
    }
  }

  package static func one(_ v: Double?) -> (Int8, Double, Double, Double) {
    v.map { (1, $0, 0, 0) } ?? (0, 0, 0, 0)
  }

  package static func key(
    _ s: Series, _ function: UInt8, _ a: Int = 0, _ b: Int = 0, _ c: Int = 0, _ d: Double = 0
  ) -> IndicatorKey? {
    guard let k = s.key else { return nil }
    return IndicatorKey(
      symbol: k.symbol, interval: k.interval, column: k.column, function: function,
      a: Int32(clamping: a), b: Int32(clamping: b), c: Int32(clamping: c), d: d.bitPattern)
  }

  package static func key(
    _ k: (symbol: Int32, interval: Int16), _ function: UInt8, _ a: Int = 0, _ b: Int = 0,
    _ c: Int = 0
  ) -> IndicatorKey {
    IndicatorKey(
      symbol: k.symbol, interval: k.interval, column: -1, function: function,
      a: Int32(clamping: a), b: Int32(clamping: b), c: Int32(clamping: c), d: 0)
  }
}
