// Prometheus metrics of the engine (swift-prometheus registry; swift-metrics bootstrapped once
// onto the same registry so other libraries' metrics, e.g. HTTP requests, land there too).

import Engine
import EngineSettings
import Metrics
import Prometheus
import Synchronization

/// The engine's metrics, updated by a cycle observer on the cycle thread.
///
/// Engine metrics are made directly on the ``PrometheusCollectorRegistry`` so each has a
/// `# HELP` line (the swift-metrics API has no help text); the registry is also what
/// ``EngineMetrics/bootstrapMetricsSystem(_:)`` hands to swift-metrics.
public final class EngineMetrics: Sendable {
  /// The process-wide registry `MetricsSystem` is bootstrapped with.
  public static let sharedRegistry = PrometheusCollectorRegistry()
  private static let bootstrapped = Mutex(false)

  /// Bootstraps swift-metrics with a Prometheus factory over `registry`, once per process
  /// (later calls do nothing). Returns whether this call did it.
  @discardableResult
  public static func bootstrapMetricsSystem(
    _ registry: PrometheusCollectorRegistry = sharedRegistry
  )
    -> Bool
  {
    let first = bootstrapped.withLock { done -> Bool in
      defer { done = true }
      return !done
    }
    guard first else { return false }
    var factory = PrometheusMetricsFactory(registry: registry)
    factory.defaultDurationHistogramBuckets = [
      .microseconds(500), .milliseconds(1), .milliseconds(5), .milliseconds(10),
      .milliseconds(50), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5),
    ]
    MetricsSystem.bootstrap(factory)
    return true
  }

  public let registry: PrometheusCollectorRegistry

  private let cycles: Prometheus.Counter
  private let batchCycles: Prometheus.Counter
  private let feedLines: Prometheus.Counter
  private let feedBytes: Prometheus.Counter
  private let feedLinesSkipped: Prometheus.Counter
  private let eventsApplied: Prometheus.Counter
  private let eventsIgnoredOlderKline: Prometheus.Counter
  private let eventsUntrackedSymbol: Prometheus.Counter
  private let eventsUnknownType: Prometheus.Counter
  private let knownSymbols: Prometheus.Gauge
  private let changedSymbols: Prometheus.Gauge
  private let changedHistogram: ValueHistogram
  private let symbolEvaluations: Prometheus.Counter
  private let symbolCycles: Prometheus.Counter
  private let filterCalls: Prometheus.Counter
  private let filterErrors: Prometheus.Counter
  private let diffs: Prometheus.Counter
  private let deferred: Prometheus.Counter
  private let efficiency: Prometheus.Gauge
  private let cycleSkipped: Prometheus.Gauge
  private let swapSeconds: DurationHistogram
  private let latency: DurationHistogram
  private let reloads: Prometheus.Counter
  private let disabled: Prometheus.Counter
  private let feedReconnects: Prometheus.Gauge
  private let uptime: Prometheus.Gauge
  private let luaMemory: Prometheus.Gauge

  private struct Mutable {
    var previous = RunSummary()
    var previousStore = (applied: 0, older: 0, untracked: 0)
    var strategies:
      [String: (
        calls: Prometheus.Counter, errors: Prometheus.Counter, nsPerCall: Prometheus.Gauge,
        seconds: Prometheus.Counter
      )] =
        [:]
    /// Per strategy, the seconds `engine_strategy_cpu_seconds_total` has counted so far.
    var reportedSeconds: [String: Double] = [:]
    var modes:
      [String: (
        cycles: Prometheus.Counter, latency: Prometheus.Gauge, evaluations: Prometheus.Gauge,
        calls: Prometheus.Gauge
      )] = [:]
    var modeFlag: [String: Prometheus.Gauge] = [:]
    var sinks:
      [String: (
        depth: Prometheus.Gauge, dropped: Prometheus.Counter, rejected: Prometheus.Counter,
        delivered: Prometheus.Counter, retries: Prometheus.Counter
      )] = [:]
    var previousSinks: [String: WebhookStats] = [:]
  }
  private let mutable = Mutex(Mutable())

  public init(registry: PrometheusCollectorRegistry = EngineMetrics.sharedRegistry) {
    self.registry = registry
    let r = registry
    cycles = r.counter(
      name: "engine_cycles_total", help: "Cycles closed (including those with nothing to evaluate)."
    )
    batchCycles = r.counter(
      name: "engine_batch_cycles_total",
      help: "Cycles evaluated in batch mode (changed share above batch_threshold).")
    feedLines = r.counter(name: "engine_feed_lines_total", help: "Feed messages (lines) read.")
    feedBytes = r.counter(name: "engine_feed_bytes_total", help: "Feed bytes read.")
    feedLinesSkipped = r.counter(
      name: "engine_feed_lines_skipped_total", help: "Malformed feed lines skipped.")
    let events =
      "Market events by outcome: applied to the store, older kline ignored, symbol not tracked (max_symbols), unknown event type. The engine does not count tickers and klines separately."
    eventsApplied = r.counter(
      name: "engine_feed_events_total", labels: [("outcome", "applied")], help: events)
    eventsIgnoredOlderKline = r.counter(
      name: "engine_feed_events_total", labels: [("outcome", "older_kline_ignored")], help: events)
    eventsUntrackedSymbol = r.counter(
      name: "engine_feed_events_total", labels: [("outcome", "untracked_symbol")], help: events)
    eventsUnknownType = r.counter(
      name: "engine_feed_events_total", labels: [("outcome", "unknown_type")], help: events)
    knownSymbols = r.gauge(name: "engine_known_symbols", help: "Symbols the store tracks.")
    changedSymbols = r.gauge(
      name: "engine_changed_symbols", help: "Symbols changed in the last cycle.")
    changedHistogram = r.valueHistogram(
      name: "engine_changed_symbols_per_cycle",
      buckets: [0, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 100000],
      help: "Symbols changed per cycle.")
    symbolEvaluations = r.counter(
      name: "engine_symbol_evaluations_total",
      help: "Symbols evaluated (one per symbol per cycle, whatever the number of strategies).")
    symbolCycles = r.counter(
      name: "engine_symbol_cycles_total",
      help: "Known symbols summed over cycles: what tracking mode all would evaluate.")
    filterCalls = r.counter(
      name: "engine_filter_calls_total",
      help: "Filter calls (one per strategy per evaluable symbol).")
    filterErrors = r.counter(
      name: "engine_filter_errors_total", help: "Filter calls that raised an error.")
    diffs = r.counter(name: "engine_diffs_total", help: "Diffs written (enter and exit).")
    deferred = r.counter(
      name: "engine_deferred_total", help: "Symbol evaluations deferred by min_update_interval_ms.")
    efficiency = r.gauge(
      name: "engine_efficiency_ratio",
      help:
        "Share of symbol evaluations skipped since the start, compared with evaluating every known symbol every cycle (1 - evaluations / symbol-cycles)."
    )
    cycleSkipped = r.gauge(
      name: "engine_cycle_skipped_ratio",
      help: "Share of known symbols not evaluated in the last cycle.")
    swapSeconds = r.durationHistogram(
      name: "engine_buffer_swap_seconds",
      buckets: [
        .microseconds(1), .microseconds(5), .microseconds(10), .microseconds(50),
        .microseconds(100), .microseconds(500), .milliseconds(1), .milliseconds(5),
        .milliseconds(10),
      ],
      help: "Time to swap the update bit set's halves and drain the read half.")
    latency = r.durationHistogram(
      name: "engine_cycle_latency_seconds",
      buckets: [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
        .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .milliseconds(2500),
      ],
      help: "From the start of a cycle's close to its last diff written.")
    reloads = r.counter(
      name: "engine_reloads_total", help: "Hot reloads of strategies or plugins applied.")
    disabled = r.counter(
      name: "engine_strategies_disabled_total", help: "Strategies disabled for failing too often.")
    feedReconnects = r.gauge(
      name: "engine_feed_reconnects",
      help: "Feed reconnections since the start (set by the feed; 0 for sim and replay).")
    uptime = r.gauge(name: "engine_uptime_seconds", help: "Seconds since the metrics were created.")
    luaMemory = r.gauge(
      name: "engine_lua_memory_bytes",
      help: "Lua memory of one worker state (sampled at its last command).")
  }

  /// Sets `engine_feed_reconnects` (a feed that reconnects calls this).
  public func setFeedReconnects(_ count: Int) { feedReconnects.set(Int64(count)) }

  /// Updates every engine metric from one cycle report. `store` counters are read by the
  /// caller on the cycle thread (the store's writer).
  public func record(
    _ status: CycleStatus, eventsApplied applied: Int, olderKlinesIgnored older: Int,
    untrackedSymbolEvents untracked: Int, luaMemoryBytes: Int, uptimeSeconds: Double,
    modes: [String: ModeCost], strategies: [String: StrategyTotals]
  ) {
    let t = status.totals
    mutable.withLock { m in
      let p = m.previous
      func add(_ c: Prometheus.Counter, _ now: Int, _ before: Int) {
        if now > before { c.increment(by: Int64(now - before)) }
      }
      add(cycles, t.cycles, p.cycles)
      add(batchCycles, t.batchCycles, p.batchCycles)
      add(feedLines, t.linesRead, p.linesRead)
      add(feedBytes, t.bytesRead, p.bytesRead)
      add(feedLinesSkipped, t.linesSkipped, p.linesSkipped)
      add(eventsUnknownType, t.unknownEvents, p.unknownEvents)
      add(symbolEvaluations, t.symbolEvaluations, p.symbolEvaluations)
      add(symbolCycles, t.symbolCycles, p.symbolCycles)
      add(filterCalls, t.filterCalls, p.filterCalls)
      add(filterErrors, t.filterErrors, p.filterErrors)
      add(diffs, t.diffs, p.diffs)
      add(deferred, t.deferred, p.deferred)
      add(reloads, t.reloads, p.reloads)
      add(disabled, t.disabledStrategies, p.disabledStrategies)
      add(eventsApplied, applied, m.previousStore.applied)
      add(eventsIgnoredOlderKline, older, m.previousStore.older)
      add(eventsUntrackedSymbol, untracked, m.previousStore.untracked)
      m.previous = t
      m.previousStore = (applied, older, untracked)

      for (k, id) in status.strategyIDs.enumerated() {
        let metrics =
          m.strategies[id]
          ?? {
            let labels = [("strategy", id)]
            let made = (
              calls: registry.counter(
                name: "engine_strategy_filter_calls_total", labels: labels,
                help: "Filter calls per strategy (its evaluations)."),
              errors: registry.counter(
                name: "engine_strategy_errors_total", labels: labels,
                help: "Filter calls per strategy that raised an error."),
              nsPerCall: registry.gauge(
                name: "engine_strategy_ns_per_call", labels: labels,
                help:
                  "The strategy's time per filter call, in nanoseconds: calls timed (one in 64, or every call of a slow strategy), the slowest tenth of those left out."
              ),
              seconds: registry.counter(
                name: "engine_strategy_cpu_seconds_total", labels: labels,
                help:
                  "Seconds spent in the strategy's filter calls: its time per call times its calls."
              )
            )
            m.strategies[id] = made
            return made
          }()
        let calls = k < status.strategyCalls.count ? status.strategyCalls[k] : 0
        let errors = k < status.strategyErrors.count ? status.strategyErrors[k] : 0
        if calls > 0 { metrics.calls.increment(by: Int64(calls)) }
        if errors > 0 { metrics.errors.increment(by: Int64(errors)) }
        if k < status.strategyProfiles.count {
          let p = status.strategyProfiles[k]
          metrics.nsPerCall.set(p.nanosPerCall)
          // A counter moves by the growth of the estimate (it is re-estimated as calls are
          // timed, so it can only be brought up to date, never down).
          let delta = p.seconds - (m.reportedSeconds[id] ?? 0)
          if delta > 0 {
            metrics.seconds.increment(by: delta)
            m.reportedSeconds[id] = p.seconds
          }
        }
      }

      let current = status.trackingMode.rawValue
      for mode in TrackingMode.allCases.map(\.rawValue) {
        let labels = [("mode", mode)]
        let metrics =
          m.modes[mode]
          ?? {
            let made = (
              cycles: registry.counter(
                name: "engine_mode_cycles_total", labels: labels,
                help: "Cycles run in each tracking mode (runtime A/B)."),
              latency: registry.gauge(
                name: "engine_mode_cycle_latency_avg_seconds", labels: labels,
                help: "Average cycle latency of the cycles run in each tracking mode."),
              evaluations: registry.gauge(
                name: "engine_mode_evaluations_per_cycle_avg", labels: labels,
                help: "Average symbol evaluations per cycle in each tracking mode."),
              calls: registry.gauge(
                name: "engine_mode_filter_calls_per_cycle_avg", labels: labels,
                help: "Average filter calls per cycle in each tracking mode.")
            )
            m.modes[mode] = made
            return made
          }()
        if mode == current { metrics.cycles.increment() }
        if let cost = modes[mode] {
          metrics.latency.set(cost.avgLatencyMs / 1000)
          metrics.evaluations.set(cost.avgEvaluations)
          metrics.calls.set(cost.avgFilterCalls)
        }
        let flag =
          m.modeFlag[mode]
          ?? {
            let g = registry.gauge(
              name: "engine_tracking_mode", labels: labels,
              help: "1 for the tracking mode in effect, 0 for the other.")
            m.modeFlag[mode] = g
            return g
          }()
        flag.set(Int64(mode == current ? 1 : 0))
      }
    }
    knownSymbols.set(Int64(status.knownSymbols))
    changedSymbols.set(Int64(status.changedSymbols))
    changedHistogram.record(Double(status.changedSymbols))
    efficiency.set(t.skippedShare)
    cycleSkipped.set(
      status.knownSymbols == 0
        ? 0 : 1 - Double(status.evaluatedSymbols) / Double(status.knownSymbols))
    if status.evaluatedSymbols > 0 || status.swapNanos > 0 {
      swapSeconds.record(.nanoseconds(Int64(status.swapNanos)))
    }
    latency.record(.nanoseconds(Int64(status.latencyNanos)))
    uptime.set(uptimeSeconds)
    luaMemory.set(Int64(luaMemoryBytes))
  }

  /// Updates the sink metrics from the sinks' counters.
  public func record(sinks: [(label: String, stats: WebhookStats)]) {
    mutable.withLock { m in
      for (label, stats) in sinks {
        let labels = [("sink", label)]
        let metrics =
          m.sinks[label]
          ?? {
            let made = (
              depth: registry.gauge(
                name: "engine_sink_queue_depth", labels: labels,
                help:
                  "Batches waiting in a webhook sink's queue (including the one being delivered)."),
              dropped: registry.counter(
                name: "engine_sink_dropped_total", labels: labels,
                help:
                  "Batches a webhook sink dropped: queue full (the oldest goes) or left at shutdown."
              ),
              rejected: registry.counter(
                name: "engine_sink_rejected_total", labels: labels,
                help: "Batches the receiver refused with a 4xx other than 408/429 (not retried)."),
              delivered: registry.counter(
                name: "engine_sink_delivered_total", labels: labels,
                help: "Batches (cycles) a webhook sink delivered."),
              retries: registry.counter(
                name: "engine_sink_retries_total", labels: labels,
                help: "Webhook delivery attempts after a failed one.")
            )
            m.sinks[label] = made
            return made
          }()
        let before = m.previousSinks[label] ?? WebhookStats()
        metrics.depth.set(Int64(stats.queueDepth))
        if stats.dropped > before.dropped {
          metrics.dropped.increment(by: Int64(stats.dropped - before.dropped))
        }
        if stats.rejected > before.rejected {
          metrics.rejected.increment(by: Int64(stats.rejected - before.rejected))
        }
        if stats.delivered > before.delivered {
          metrics.delivered.increment(by: Int64(stats.delivered - before.delivered))
        }
        if stats.retries > before.retries {
          metrics.retries.increment(by: Int64(stats.retries - before.retries))
        }
        m.previousSinks[label] = stats
      }
    }
  }

  /// Sets the gauge `name` with `labels` (made on first use): the bus roles' progress,
  /// e.g. `engine_bus_cycles_behind`.
  public func setGauge(
    _ name: String, labels: [(String, String)] = [], help: String, to value: Int64
  ) {
    registry.gauge(name: name, labels: labels, help: help).set(value)
  }

  /// The Prometheus text exposition of this registry (and of the swift-metrics registry when
  /// it is a different one).
  public func exposition() -> String {
    var text = registry.emitToString()
    if registry !== Self.sharedRegistry, Self.bootstrapped.withLock({ $0 }) {
      text += Self.sharedRegistry.emitToString()
    }
    return text
  }
}

/// Metrics with help text, through the registry's descriptor API (full name in `metricName`).
extension PrometheusCollectorRegistry {
  fileprivate func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
    MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
  }

  fileprivate func counter(name: String, labels: [(String, String)] = [], help: String)
    -> Prometheus.Counter
  {
    makeCounter(descriptor: descriptor(name, help), labels: labels)
  }

  fileprivate func gauge(name: String, labels: [(String, String)] = [], help: String)
    -> Prometheus.Gauge
  {
    makeGauge(descriptor: descriptor(name, help), labels: labels)
  }

  fileprivate func durationHistogram(name: String, buckets: [Duration], help: String)
    -> DurationHistogram
  {
    makeDurationHistogram(descriptor: descriptor(name, help), buckets: buckets)
  }

  fileprivate func valueHistogram(name: String, buckets: [Double], help: String)
    -> ValueHistogram
  {
    makeValueHistogram(descriptor: descriptor(name, help), buckets: buckets)
  }
}
