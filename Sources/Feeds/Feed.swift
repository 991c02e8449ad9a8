// The feed abstraction: every source of market data (the simulator, a replay file, Binance's
// live streams) is a `Feed` that parses its messages with `MessageBatcher` and hands
// `FeedMessage`s to the engine through a `FeedQueue`, so all of them share one parser and one
// apply path.

import Support
import Tracking

/// A source of market data, run on a thread of its own.
public protocol Feed: Sendable {
  /// Delivers batches to `queue` until the input ends (then `.end`) or `stop` is raised.
  func run(into queue: FeedQueue, stop: StopFlag)
}

/// What a feed delivers to the engine.
public enum FeedMessage: Sendable {
  case batch(FeedBatch)
  /// The events of one closed cycle, already assigned to it by whoever owns the cycle clock
  /// (a shard's input on the bus): the engine applies them to cycle `id` and closes it,
  /// whatever their event times.
  case cycle(id: Int64, FeedBatch)
  /// End of input (replay); live feeds never end on their own.
  case end
  /// The feed cannot go on (`--strict` and a bad line, an unreadable file).
  case failed(String)
}

/// Parsed events of a run of consecutive messages, with the bookkeeping of what was skipped.
public struct FeedBatch: Sendable {
  public var events: [MarketEvent] = []
  /// Bad lines or array elements skipped (malformed JSON, missing fields, bad numbers).
  public var skipped = 0
  /// Event objects of a type the engine does not use.
  public var unknown = 0
  /// Lines (messages) read.
  public var lines = 0
  /// Bytes read.
  public var bytes = 0
  /// The first problems, with line numbers (the feed keeps at most a few per run).
  public var problems: [FeedProblem] = []

  public init() {}
}

/// A line the feed skipped, with where it was.
public struct FeedProblem: Sendable, Equatable {
  /// 1-based line number in the source (replay file line, or message count for live feeds).
  public var line: Int
  public var message: String
}
