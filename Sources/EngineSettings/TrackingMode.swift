/// Which symbols each cycle evaluates (`tracking.mode`).
public enum TrackingMode: String, Sendable, CaseIterable {
  /// Only the symbols that changed since the previous cycle.
  case changed
  /// Every tracked symbol: the baseline the saving of `changed` is measured against.
  case all
}
