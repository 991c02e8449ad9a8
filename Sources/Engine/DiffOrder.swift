import Tracking

/// The order of a cycle's diff lines: by strategy id, then symbol, in byte order, so a run
/// prints the same bytes whatever the workers, the tracking mode and batch mode. Symbols
/// compare by a rank computed once per new symbol, strategy ids by a rank computed once per
/// cycle, rather than by comparing their names for every pair.
struct DiffOrder {
  /// Each symbol's rank among the known symbols' names, by index and by name.
  private var symbolRank: [Int32] = []
  private var rankByName: [String: Int32] = [:]

  /// Sorts `diffs`; `symbols[i]` is the store index of `diffs[i]`'s symbol, or -1 (then its
  /// name is looked up).
  mutating func sort(_ diffs: inout [ResolvedDiff], symbols: [Int32], in store: MarketStore) {
    guard diffs.count > 1 else { return }
    let known = store.symbolCount
    if symbolRank.count != known {
      let names = store.symbols.names
      let order = (0..<known).sorted { names[$0].utf8.lexicographicallyPrecedes(names[$1].utf8) }
      symbolRank = [Int32](repeating: 0, count: known)
      rankByName = [:]
      for (rank, s) in order.enumerated() {
        symbolRank[s] = Int32(rank)
        rankByName[names[s]] = Int32(rank)
      }
    }
    var ids: [String] = []
    var idOfDiff = [Int](repeating: 0, count: diffs.count)
    for (i, d) in diffs.enumerated() {
      if let k = ids.firstIndex(of: d.strategy) {
        idOfDiff[i] = k
      } else {
        idOfDiff[i] = ids.count
        ids.append(d.strategy)
      }
    }
    var idRank = [Int](repeating: 0, count: ids.count)
    let byName = ids.indices.sorted { ids[$0].utf8.lexicographicallyPrecedes(ids[$1].utf8) }
    for (rank, k) in byName.enumerated() { idRank[k] = rank }
    let keys = diffs.indices.map { i in
      let s = i < symbols.count ? Int(symbols[i]) : -1
      let rank = s >= 0 && s < symbolRank.count ? symbolRank[s] : rankByName[diffs[i].symbol]
      return (idRank[idOfDiff[i]], rank ?? Int32.max, i)
    }
    let order = diffs.indices.sorted { keys[$0] < keys[$1] }
    diffs = order.map { diffs[$0] }
  }
}
