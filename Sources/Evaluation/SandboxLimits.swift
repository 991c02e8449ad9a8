/// Limits applied to strategy code in every Lua state.
public struct SandboxLimits: Sendable, Equatable {
  /// Lua instructions one filter call (or one chunk run) may execute before it is aborted.
  public var instructionBudget: Int
  /// Bytes one Lua state may hold while strategy code runs.
  public var memoryBytes: Int
  /// Consecutive evaluated cycles in which more than half of a strategy's calls failed,
  /// after which the strategy is disabled until its file changes (0: never disable).
  public var maxFailingCycles: Int
  /// Wall-clock milliseconds after which a running filter call is reported and stopped at its
  /// next Lua instruction (0: never).
  public var callTimeoutMs: Int

  public init(
    instructionBudget: Int = 1_000_000, memoryBytes: Int = 64 << 20, maxFailingCycles: Int = 10,
    callTimeoutMs: Int = 1000
  ) {
    self.instructionBudget = instructionBudget
    self.memoryBytes = memoryBytes
    self.maxFailingCycles = maxFailingCycles
    self.callTimeoutMs = callTimeoutMs
  }
}
