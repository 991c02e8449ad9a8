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
    var openCycle: Int64?
    var openLast = Int64.max
    var lastClosed = Int64.min
    var openedAt = 0.0
    let cycleMs = Int64(settings.cycleMs)
    let closeAfter = Double(settings.cycleMs + settings.cycleGraceMs) / 1000
    loop: while !stopFlag.isRaised {
      var timeout = 100
      if live, openCycle != nil {
        timeout = max(0, Int(((openedAt + closeAfter) - MonotonicClock.seconds()) * 1000))
        timeout = min(timeout, 100)
      }
      guard let message = queue.pop(timeoutMs: timeout) else {
        if live, let open = openCycle, MonotonicClock.seconds() >= openedAt + closeAfter {
          closeCycle(open)
          lastClosed = open
          openCycle = nil
        }
        continue
      }
      switch message {
      case .failed(let why):
        summary.wallSeconds = Date().timeIntervalSince(began)
        throw EngineError(why)
      case .end:
        if let open = openCycle { closeCycle(open) }
        break loop
      case .cycle(let id, let batch):
        // The cycle clock ran elsewhere: apply every event to cycle `id`, then close it.
        account(batch)
        if let open = openCycle {
          closeCycle(open)
          openCycle = nil
        }
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
        lastClosed = id
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
                if openCycle != nil {
                  if time > openLast { break }
                } else {
                  let open = max(Self.floorDiv(time, cycleMs), lastClosed &+ 1)
                  openCycle = open
                  openLast = Self.lastMillisecond(of: open, cycleMs: cycleMs)
                  openedAt = MonotonicClock.seconds()
                }
                apply(at: event)
                j += 1
              }
            }
            applyCPUSeconds += MonotonicClock.threadCPUSeconds() - applyBegan
            i = j
            if i < events.count, let open = openCycle {
              closeCycle(open)
              lastClosed = open
              openCycle = nil
            }
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

  /// The last event time (ms) of cycle `cycle`, saturating at `Int64.max`.
  static func lastMillisecond(of cycle: Int64, cycleMs: Int64) -> Int64 {
    let last = Int128(cycle) * Int128(cycleMs) + Int128(cycleMs - 1)
    return Int64(clamping: last)
  }

  static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
  }
}
