import EngineSettings
import Evaluation
import Feeds
import Foundation
import LuaKit
import Support
import Synchronization
import Tracking

#if canImport(Glibc)
  import Glibc
#endif

extension CycleEngine {
  /// Runs until the feed ends (replay) or ``requestStop()``. Returns the run's counters.
  public func run(feed: Feed) throws(EngineError) -> RunSummary {
    let began = Date()
    do {
      try loadInlineWorker()
    } catch {
      stopFlag.raise()
      shutDownWorkers()
      throw error
    }
    let queue = FeedQueue()
    let feedThread = Thread { [stopFlag] in feed.run(into: queue, stop: stopFlag) }
    feedThread.name = "engine-feed"
    feedThread.start()
    let watchdog = makeWatchdog()
    watchdog.start()
    self.watchdog.withLock { $0 = watchdog }
    defer {
      stopFlag.raise()
      self.watchdog.withLock { $0 = nil }
      watchdog.stop()
      shutDownWorkers()
    }
    var clock = CycleClock(cycleMs: settings.cycleMs, cycleGraceMs: settings.cycleGraceMs)
    loop: while !stopFlag.isRaised {
      let timeout = live ? clock.waitMs(cap: 100) : 100
      guard let message = queue.pop(timeoutMs: timeout) else {
        if live, clock.isDueByWallClock, let open = clock.closeOpen() { closeCycle(open) }
        continue
      }
      switch message {
      case .failed(let why):
        summary.wallSeconds = Date().timeIntervalSince(began)
        throw EngineError(why)
      case .end:
        if let open = clock.closeOpen() { closeCycle(open) }
        break loop
      case .cycle(let id, let batch):
        // The cycle clock ran elsewhere: apply every event to cycle `id`, then close it.
        account(batch)
        if let open = clock.closeOpen() { closeCycle(open) }
        let applyBegan = MonotonicClock.threadCPUSeconds()
        store.phase.withWritePhase {
          batch.events.withUnsafeBufferPointer { events in
            guard let base = events.baseAddress else { return }
            for j in 0..<events.count { apply(at: base + j) }
          }
        }
        applyCPUSeconds += MonotonicClock.threadCPUSeconds() - applyBegan
        if let code = scheduledReloads.withLock({ $0.removeValue(forKey: id) }) {
          requestReload(code)
        }
        closeCycle(id)
        clock.closed(id)
      case .batch(let batch):
        account(batch)
        batch.events.withUnsafeBufferPointer { events in
          guard let base = events.baseAddress else { return }
          let inPlace = store.payloadsInPlace
          var i = 0
          while i < events.count {
            // Apply the run of events that belongs to the open cycle, then close it when an
            // event of a later cycle arrives.
            var j = i
            let applyBegan = MonotonicClock.threadCPUSeconds()
            store.phase.withWritePhase {
              while j < events.count {
                // In the open cycle while the event time is at most the cycle's last
                // millisecond (a compare, not a division per event).
                let event = base + j
                let time = MarketEvent.eventTime(at: event, inPlace: inPlace)
                if clock.endsOpenCycle(at: time) { break }
                _ = clock.cycle(for: time)
                apply(at: event)
                j += 1
              }
            }
            applyCPUSeconds += MonotonicClock.threadCPUSeconds() - applyBegan
            i = j
            if i < events.count, let open = clock.closeOpen() { closeCycle(open) }
          }
        }
      }
    }
    summary.wallSeconds = Date().timeIntervalSince(began)
    summary.eventsApplied = store.eventsApplied
    summary.klinesIgnored = store.klinesIgnored
    summary.symbolsRejected = store.symbolsRejected
    return summary
  }

  func account(_ batch: FeedBatch) {
    summary.linesRead += batch.lines
    summary.bytesRead += batch.bytes
    summary.linesSkipped += batch.skipped
    summary.unknownEvents += batch.unknown
    for p in batch.problems {
      let text = "line \(p.line): \(p.message)"
      summary.firstProblems.append("line \(p.line)")
      log("feed: skipped \(text)")
    }
  }

  @inline(__always)
  func apply(at event: UnsafePointer<MarketEvent>) {
    switch store.apply(at: event) {
    case .success(.changed(let symbol)):
      updates.mark(Int(symbol))
      if ring.isEnabled {
        let e = event.pointee
        let kind: UpdateRing.Kind
        if case .kline = e { kind = .kline } else { kind = .ticker }
        ring.record(symbol: e.symbol, time: e.eventTime, kind: kind)
      }
    case .success(.ignored):
      let e = event.pointee
      ring.record(symbol: e.symbol, time: e.eventTime, kind: .ignored)
    case .failure(let error):
      if rejectedReported < 5 {
        rejectedReported += 1
        log("store: \(error)")
      }
    }
  }
}
