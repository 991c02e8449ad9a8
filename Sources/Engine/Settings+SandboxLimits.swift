import EngineSettings
import Evaluation

extension Settings {
  /// The sandbox limits these settings describe. Built here, where both types are known, so
  /// that the settings module does not depend on the evaluation layer.
  public var sandboxLimits: SandboxLimits {
    SandboxLimits(
      instructionBudget: instructionBudget, memoryBytes: memoryMB << 20,
      maxFailingCycles: maxFailingCycles, callTimeoutMs: callTimeoutMs)
  }
}
