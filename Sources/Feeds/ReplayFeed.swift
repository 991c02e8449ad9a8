import Tracking
import Support

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Replays a recorded file: one Binance message per line (JSON Lines), raw or in the
/// combined-stream envelope.
///
/// `speed` nil replays as fast as possible; otherwise event times are followed on the wall
/// clock, scaled by `speed` (2 = twice as fast). Blank lines are ignored. A malformed line
/// is skipped and counted (its line number reported), unless `strict`, where it stops the
/// feed with `FILE:LINE: message`.
public struct ReplayFeed: Feed {
  public let path: String
  public let speed: Double?
  public let strict: Bool
  /// Lines per batch when not pacing.
  public let batchLines: Int

  public init(path: String, speed: Double?, strict: Bool, batchLines: Int = 2048) {
    self.path = path
    self.speed = speed
    self.strict = strict
    self.batchLines = batchLines
  }

  public func run(into queue: FeedQueue, stop: StopFlag) {
    guard let file = fopen(path, "r") else {
      queue.push(.failed("\(path): cannot open replay file"))
      return
    }
    defer { fclose(file) }
    var batcher = MessageBatcher(source: path)
    var line: UnsafeMutablePointer<CChar>? = nil
    var capacity = 0
    defer { free(line) }
    var pace = Pacer(speed: speed)
    while !stop.isRaised {
      let n = getline(&line, &capacity, file)
      if n < 0 { break }
      guard let line else { break }
      var length = n
      while length > 0, line[length - 1] == 10 || line[length - 1] == 13 { length -= 1 }
      let bytes = UnsafeRawBufferPointer(start: line, count: length)
      if bytes.allSatisfy({ $0 == 32 || $0 == 9 }) {
        continue
      }
      let before = batcher.batch.events.count
      if let problem = batcher.add(bytes), strict {
        queue.push(.failed("\(path):\(problem.line): \(problem.message)"))
        return
      }
      if let time = batcher.batch.events[before...].last?.eventTime,
        let wait = pace.delay(until: time), wait > 0
      {
        // Deliver what was read before this line's time, then wait for it.
        var earlier = batcher.take()
        let thisLine = Array(earlier.events[before...])
        earlier.events.removeSubrange(before...)
        if !queue.push(.batch(earlier), unless: stop) { return }
        pace.sleep(wait, unless: stop)
        var next = FeedBatch()
        next.events = thisLine
        queue.push(.batch(next), unless: stop)
      } else if batcher.batch.lines >= batchLines {
        if !queue.push(.batch(batcher.take()), unless: stop) { return }
      }
    }
    if stop.isRaised { return }
    queue.push(.batch(batcher.take()), unless: stop)
    queue.push(.end, unless: stop)
  }
}

/// Follows event times on the wall clock at a given speed.
struct Pacer {
  let speed: Double?
  private var origin: (event: Int64, wall: Double)?

  init(speed: Double?) { self.speed = speed }

  /// Seconds to wait before delivering an event of time `eventTime` (nil: no pacing).
  mutating func delay(until eventTime: Int64) -> Double? {
    guard let speed else { return nil }
    let now = MonotonicClock.seconds()
    guard let origin else {
      self.origin = (eventTime, now)
      return nil
    }
    let due = origin.wall + Double(eventTime - origin.event) / 1000 / speed
    return due - now
  }

  func sleep(_ seconds: Double, unless stop: StopFlag) {
    var left = seconds
    while left > 0, !stop.isRaised {
      let step = min(left, 0.05)
      usleep(UInt32(step * 1_000_000))
      left -= step
    }
  }
}
