/// A user-facing error: one line naming the place.
public struct EngineError: Error, Sendable, Equatable, CustomStringConvertible {
  public var description: String
  /// The error is in the engine's configuration of a strategy (an override for an unknown
  /// param, a value of the wrong type), not in the strategy's code: at start it stops the
  /// engine, where a strategy that does not compile is only left out.
  public var isConfiguration: Bool

  public init(_ description: String, isConfiguration: Bool = false) {
    self.description = description
    self.isConfiguration = isConfiguration
  }
}
