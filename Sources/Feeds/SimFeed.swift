import Tracking
import Support

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The built-in simulator as a feed: ``MarketSimulator`` writes Binance messages, which go
/// through the same parser and apply path as every other feed.
///
/// With a `speed` (1 = real time) step *n* is delivered when the wall clock reaches its
/// window; without one, steps follow each other as fast as the engine takes them.
/// `steps` limits the run (nil: until stopped).
public struct SimFeed: Feed {
  public let config: SimulatorConfig
  public let speed: Double?
  public let steps: Int?
  /// When set, every message is also appended to this file, one per line (`--record`).
  public let recordPath: String?

  public init(config: SimulatorConfig, speed: Double?, steps: Int? = nil, recordPath: String? = nil)
  {
    self.config = config
    self.speed = speed
    self.steps = steps
    self.recordPath = recordPath
  }

  public func run(into queue: FeedQueue, stop: StopFlag) {
    var simulator = MarketSimulator(config)
    var batcher = MessageBatcher(source: "sim")
    var recording: UnsafeMutablePointer<FILE>?
    if let recordPath {
      guard let file = fopen(recordPath, "a") else {
        queue.push(.failed("\(recordPath): cannot open the recording file"), unless: stop)
        return
      }
      recording = file
    }
    defer { if let recording { fclose(recording) } }
    func record(_ lines: [String]) {
      guard let recording else { return }
      for line in lines {
        fputs(line, recording)
        fputc(10, recording)
      }
      fflush(recording)
    }
    let warm = simulator.warmup()
    record(warm)
    for line in warm { batcher.add(line) }
    if !queue.push(.batch(batcher.take()), unless: stop) { return }
    let start = MonotonicClock.seconds()
    var step = 0
    while !stop.isRaised {
      if let steps, step >= steps { break }
      if let speed {
        let due = start + Double(step) * Double(config.cycleMs) / 1000 / speed
        let wait = due - MonotonicClock.seconds()
        if wait > 0 { Pacer(speed: speed).sleep(wait, unless: stop) }
      }
      let lines = simulator.nextStep()
      record(lines)
      for line in lines { batcher.add(line) }
      if !queue.push(.batch(batcher.take()), unless: stop) { return }
      step += 1
    }
    if !stop.isRaised { queue.push(.end, unless: stop) }
  }
}
