import Tracking

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

  public init(config: SimulatorConfig, speed: Double?, steps: Int? = nil) {
    self.config = config
    self.speed = speed
    self.steps = steps
  }

  public func run(into queue: FeedQueue, stop: StopFlag) {
    var simulator = MarketSimulator(config)
    var batcher = MessageBatcher(source: "sim")
    for line in simulator.warmup() { batcher.add(line) }
    if !queue.push(.batch(batcher.take()), unless: stop) { return }
    let start = Pacer.wallSeconds()
    var step = 0
    while !stop.isRaised {
      if let steps, step >= steps { break }
      if let speed {
        let due = start + Double(step) * Double(config.cycleMs) / 1000 / speed
        let wait = due - Pacer.wallSeconds()
        if wait > 0 { Pacer(speed: speed).sleep(wait, unless: stop) }
      }
      for line in simulator.nextStep() { batcher.add(line) }
      if !queue.push(.batch(batcher.take()), unless: stop) { return }
      step += 1
    }
    if !stop.isRaised { queue.push(.end, unless: stop) }
  }
}
