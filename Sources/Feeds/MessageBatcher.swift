import Tracking

/// Parses messages one by one into a ``FeedBatch``, keeping line numbers of the first
/// problems. Shared by every feed so that all of them go through the same parser.
public struct MessageBatcher: Sendable {
  public let parser = BinanceParser()
  public let source: String
  public let maxProblems: Int
  public private(set) var batch = FeedBatch()
  public private(set) var problemsSeen = 0
  public private(set) var lineNumber = 0

  public init(source: String, maxProblems: Int = 5) {
    self.source = source
    self.maxProblems = maxProblems
  }

  /// Parses one message. Returns the first problem when the message had one (for `--strict`).
  @discardableResult
  public mutating func add(_ bytes: UnsafeRawBufferPointer) -> FeedProblem? {
    lineNumber += 1
    batch.lines += 1
    batch.bytes += bytes.count
    let result = parser.parse(bytes, appendingTo: &batch.events)
    batch.skipped += result.skipped
    batch.unknown += result.unknown
    guard result.skipped > 0 else { return nil }
    let problem = FeedProblem(
      line: lineNumber, message: result.firstError ?? "malformed message")
    if problemsSeen < maxProblems { batch.problems.append(problem) }
    problemsSeen += 1
    return problem
  }

  @discardableResult
  public mutating func add(_ line: String) -> FeedProblem? {
    var line = line
    return line.withUTF8 { add(UnsafeRawBufferPointer($0)) }
  }

  /// Hands over the batch so far and starts a new one.
  public mutating func take() -> FeedBatch {
    defer { batch = FeedBatch() }
    return batch
  }
}
