import AsyncHTTPClient
import Dispatch
import Feeds
import Foundation
import Tracking
import Support

/// Binance's public market-data WebSocket streams as a feed.
///
/// Tickers (`<symbol>@ticker`, or `!miniTicker@arr`) and klines of the configured intervals
/// are spread over as many combined-stream connections as Binance's 1024-stream limit needs.
/// Each connection, at start and after every reconnect, backfills its symbols' recent klines
/// over REST before its live messages are delivered (they are held back meanwhile, so a gap
/// is filled before anything newer of those symbols; at most `maxHeldMessages` of them, the
/// newest, so a stuck backfill cannot exhaust memory). Reconnects use exponential back-off
/// with jitter; a connection that goes quiet for `staleAfterSeconds` is replaced; before
/// Binance's 24 h cut-off, or on a `serverShutdown` event, a new connection is opened and
/// subscribed before the old one is closed. Every message (live frames as received and the
/// synthetic backfill kline events) goes through one ``MessageBatcher``, in the order it is
/// recorded to `recordPath`, so a replay of the recording sees exactly what the engine saw.
public struct BinanceFeed: Feed {
  public let config: BinanceFeedConfig
  /// Counters for the status line.
  public let stats: BinanceFeedStats
  private let log: @Sendable (String) -> Void

  /// - Parameter log: one line per notable event (reconnects, rate limits); default stderr.
  public init(
    config: BinanceFeedConfig, stats: BinanceFeedStats = BinanceFeedStats(),
    log: @escaping @Sendable (String) -> Void = { line in
      FileHandle.standardError.write(Data((line + "\n").utf8))
    }
  ) {
    self.config = config
    self.stats = stats
    self.log = log
  }

  public func run(into queue: FeedQueue, stop: StopFlag) {
    if let problem = config.validate() {
      queue.push(.failed(problem), unless: stop)
      return
    }
    var record: UnsafeMutablePointer<FILE>? = nil
    if let path = config.recordPath {
      guard let file = fopen(path, "a") else {
        queue.push(.failed("\(path): cannot open the record file"), unless: stop)
        return
      }
      record = file
    }
    defer { if let record { fclose(record) } }

    let sink = MessageSink(recording: record != nil, stats: stats)
    let runner = Runner(config: config, sink: sink, stats: stats, log: log)
    let finished = DispatchSemaphore(value: 0)
    let task = Task {
      await runner.run()
      finished.signal()
    }
    var ended = false
    while !stop.isRaised {
      // Doubles as the flush interval.
      if finished.wait(timeout: .now() + .milliseconds(config.flushIntervalMs)) == .success {
        ended = true
      }
      let (batch, bytes, failure) = sink.take()
      if batch.lines > 0 {
        if !queue.push(.batch(batch), unless: stop) { break }
        // Record what the engine was handed, in the same order.
        if let record, !bytes.isEmpty {
          bytes.withUnsafeBytes { _ = fwrite($0.baseAddress, 1, $0.count, record) }
          fflush(record)
        }
      }
      if let failure {
        queue.push(.failed(failure), unless: stop)
        break
      }
      if ended {
        queue.push(.failed("binance: the feed stopped unexpectedly"), unless: stop)
        break
      }
    }
    task.cancel()
    if !ended { _ = finished.wait(timeout: .now() + .seconds(5)) }
  }
}

/// The async side of a running feed: symbol selection, then one ``Slot`` per connection.
final class Runner: Sendable {
  let config: BinanceFeedConfig
  let sink: MessageSink
  let stats: BinanceFeedStats
  let log: @Sendable (String) -> Void

  init(
    config: BinanceFeedConfig, sink: MessageSink, stats: BinanceFeedStats,
    log: @escaping @Sendable (String) -> Void
  ) {
    self.config = config
    self.sink = sink
    self.stats = stats
    self.log = log
  }

  func run() async {
    let rest = BinanceREST(
      baseURL: trimmedURL(config.restURL),
      gate: RestGate(
        concurrency: config.restConcurrency, weightPerMinute: config.restWeightPerMinute),
      attempts: config.restAttempts, stats: stats, log: log, client: HTTPClient.shared)
    var config = self.config
    config.wsURL = trimmedURL(config.wsURL)
    let symbols: [String]
    do {
      symbols = try await selectSymbols(rest: rest)
    } catch is CancellationError {
      return
    } catch {
      sink.fail("\(error)")
      return
    }
    let plans = config.plan(symbols: symbols)
    if plans.isEmpty {
      sink.fail("binance: nothing to subscribe")
      return
    }
    stats.setConnections(plans)
    let context = FeedContext(
      config: config, sink: sink, stats: stats, rest: rest,
      connectGate: ConnectionGate(limit: config.connectionsPer5Minutes), log: log,
      intervals: config.intervals.filter { BinanceFeedConfig.validIntervals.contains($0) })
    log(
      "binance: \(symbols.count) symbols, \(plans.reduce(0) { $0 + $1.streams.count }) streams "
        + "over \(plans.count) connection(s)")
    await withTaskGroup(of: Void.self) { group in
      for (index, plan) in plans.enumerated() {
        group.addTask { await Slot(index: index, plan: plan, context: context).run() }
      }
    }
  }

  /// The configured symbols, or `exchangeInfo`'s TRADING symbols of the quote asset; at most
  /// `maxSymbols`. Network trouble is retried until it works (or the feed stops).
  func selectSymbols(rest: BinanceREST) async throws -> [String] {
    var symbols: [String] = []
    if !config.symbols.isEmpty {
      var seen = Set<String>()
      for symbol in config.symbols {
        if let s = BinanceFeedConfig.normalizedSymbol(symbol), seen.insert(s).inserted {
          symbols.append(s)
        }
      }
    } else if let quote = config.quote.flatMap(BinanceFeedConfig.normalizedSymbol) {
      log("binance: selecting \(quote) symbols from \(config.restURL)/api/v3/exchangeInfo")
      var failures = 0
      while true {
        do {
          symbols = try await rest.symbols(quote: quote)
          break
        } catch let error as RestError {
          failures += 1
          log("binance: exchangeInfo failed: \(error); retrying")
          let delay = min(60, Double(1 << min(failures, 6))) * Double.random(in: 0.5...1)
          try await Task.sleep(for: .seconds(delay))
        }
      }
      if symbols.isEmpty {
        throw RestError.gaveUp("binance: no TRADING spot symbol has quote asset \(quote)")
      }
    }
    if symbols.count > config.maxSymbols {
      log("binance: \(symbols.count) symbols, keeping the first \(config.maxSymbols) (max_symbols)")
      symbols = Array(symbols.prefix(config.maxSymbols))
    }
    return symbols
  }
}

private func trimmedURL(_ url: String) -> String {
  var url = url
  while url.hasSuffix("/") { url.removeLast() }
  return url
}

/// One connection's worth of streams, kept connected: reconnects with back-off and backfill,
/// replaces a connection that asks for it (age, `serverShutdown`) without a gap.
struct Slot: Sendable {
  let index: Int
  let plan: ConnectionPlan
  let context: FeedContext

  func run() async {
    let (events, continuation) = AsyncStream<SlotEvent>.makeStream()
    let config = context.config
    await withTaskGroup(of: Void.self) { group in
      var generation = 0
      var active: Connection? = nil
      var pending: Connection? = nil
      var failures = 0

      func start(backfill: Bool, delay: Double) -> Connection {
        generation += 1
        let connection = Connection(
          slot: index, generation: generation, plan: plan, backfill: backfill, context: context,
          events: continuation)
        group.addTask { await connection.run(delay: delay) }
        return connection
      }
      func backoff() -> Double {
        defer { failures += 1 }
        // Even the first retry is spread a little, so connections that dropped together
        // do not all come back in the same instant.
        if failures == 0 { return Double.random(in: 0...(config.reconnectInitialDelaySeconds / 2)) }
        let base = config.reconnectInitialDelaySeconds * pow(2, Double(failures - 1))
        return min(config.reconnectMaxDelaySeconds, base) * Double.random(in: 0.5...1)
      }

      pending = start(backfill: true, delay: 0)
      for await event in events {
        if Task.isCancelled { break }
        switch event {
        case .ready(let g):
          guard let next = pending, next.generation == g else { continue }
          let previous = active
          previous?.drop()
          next.goLive()
          previous?.close()
          active = next
          pending = nil
          failures = 0
          context.stats.setState(index, .live)
        case .rollover(let g):
          guard let current = active, current.generation == g, pending == nil else { continue }
          pending = start(backfill: false, delay: 0)
        case .ended(let g, let reason):
          if let current = active, current.generation == g {
            active = nil
            context.stats.reconnected(index)
            // A successor that is not ready yet may have missed messages: start afresh.
            pending?.close()
            let delay = backoff()
            context.log(
              "binance: connection \(index) lost (\(reason)); reconnecting"
                + " in \(String(format: "%.2f", delay)) s")
            pending = start(backfill: true, delay: delay)
          } else if let next = pending, next.generation == g {
            let delay = backoff()
            context.log(
              "binance: connection \(index) failed (\(reason)); retrying in "
                + "\(String(format: "%.1f", delay)) s")
            context.stats.reconnected(index)
            pending = start(backfill: active == nil, delay: delay)
          }
        }
      }
      active?.close()
      pending?.close()
      context.stats.setState(index, .closed)
      group.cancelAll()
    }
  }
}
