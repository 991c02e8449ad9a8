/// A user-facing error: one line naming the place.
public struct EngineError: Error, Sendable, Equatable, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}
