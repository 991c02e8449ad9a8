import Synchronization

/// A flag raised once to ask threads to stop.
public final class StopFlag: Sendable {
  private let raised = Atomic<Bool>(false)
  public init() {}
  public var isRaised: Bool { raised.load(ordering: .acquiring) }
  public func raise() { raised.store(true, ordering: .releasing) }
}
