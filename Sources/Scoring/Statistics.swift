/// The plain statistics of the report. Each returns nil for no values, so "no data" is never
/// printed as a zero.
enum Statistics {
  static func mean(_ values: [Double]) -> Double? {
    guard !values.isEmpty else { return nil }
    // Pairwise summation keeps the error small for long lists of small returns.
    return sum(values[...]) / Double(values.count)
  }

  private static func sum(_ values: ArraySlice<Double>) -> Double {
    if values.count <= 16 { return values.reduce(0, +) }
    let mid = values.startIndex + values.count / 2
    return sum(values[..<mid]) + sum(values[mid...])
  }

  /// The middle value; for an even count, the mean of the two middle values.
  static func median(_ values: [Double]) -> Double? {
    guard !values.isEmpty else { return nil }
    let sorted = values.sorted()
    let mid = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
  }

  /// The share of values above zero.
  static func shareAboveZero(_ values: [Double]) -> Double? {
    guard !values.isEmpty else { return nil }
    return Double(values.count(where: { $0 > 0 })) / Double(values.count)
  }
}
