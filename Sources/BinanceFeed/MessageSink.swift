import Feeds
import NIOConcurrencyHelpers

/// Where every connection hands its messages: one ``MessageBatcher`` (so all messages are
/// parsed in the order they are recorded) plus the bytes to append to the record file.
final class MessageSink: Sendable {
  fileprivate struct State {
    var batcher = MessageBatcher(source: "binance")
    var record: [UInt8] = []
    var failure: String?
  }

  /// A pthread-based lock, not `Synchronization.Mutex`: the connections (Swift concurrency
  /// threads) and the feed thread meet only here, and ThreadSanitizer does not see the
  /// ordering `Mutex` gives on Linux (its futex path is in an uninstrumented library), so
  /// it reported this hand-off as a race; it does see `pthread_mutex`.
  private let state = NIOLockedValueBox(State())
  private let recording: Bool
  private let stats: BinanceFeedStats

  init(recording: Bool, stats: BinanceFeedStats) {
    self.recording = recording
    self.stats = stats
  }

  /// Parses one message (and records it).
  func add(_ message: String) {
    var message = message
    let count = message.utf8.count
    state.withLockedValue { state in
      message.withUTF8 { state.append(UnsafeRawBufferPointer($0), recording: recording) }
    }
    stats.update {
      $0.messages += 1
      $0.bytes += count
    }
  }

  /// Parses messages in order, under one lock (nothing else is interleaved).
  func add(_ messages: [String], backfill: Bool = false) {
    guard !messages.isEmpty else { return }
    var bytes = 0
    state.withLockedValue { state in
      for var message in messages {
        bytes += message.utf8.count
        message.withUTF8 { state.append(UnsafeRawBufferPointer($0), recording: recording) }
      }
    }
    stats.update {
      $0.messages += messages.count
      $0.bytes += bytes
      if backfill { $0.backfillMessages += messages.count }
    }
  }

  /// The feed cannot go on (bad configuration).
  func fail(_ message: String) {
    state.withLockedValue { if $0.failure == nil { $0.failure = message } }
  }

  /// Hands over what was parsed since the last call, with the matching record bytes.
  func take() -> (batch: FeedBatch, record: [UInt8], failure: String?) {
    state.withLockedValue { state in
      let record = state.record
      state.record = []
      return (state.batcher.take(), record, state.failure)
    }
  }
}

extension MessageSink.State {
  fileprivate mutating func append(_ bytes: UnsafeRawBufferPointer, recording: Bool) {
    batcher.add(bytes)
    guard recording else { return }
    // One message per line: a raw CR or LF can only be JSON whitespace here (inside a JSON
    // string it is invalid anyway), so a space keeps the parse result and the line structure.
    let start = record.count
    record.append(contentsOf: bytes)
    for i in start..<record.count where record[i] == 10 || record[i] == 13 { record[i] = 32 }
    record.append(10)
  }
}
