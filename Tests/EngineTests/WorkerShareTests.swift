import Foundation
import Testing

@testable import Engine
@testable import Evaluation

/// How a pass's symbols are shared out: workers take chunks from one ``SymbolQueue`` as they go
/// (worker 0 on the cycle thread), so the share of each varies from run to run; what the
/// engine reports must not.
@Suite("Sharing symbols among workers", .serialized)
struct WorkerShareTests {
  @Test("threads taking chunks at once take every position exactly once")
  func everyPositionOnce() throws {
    for (count, chunk, threads) in [(10_007, 3, 4), (64, 64, 3), (5, 1, 8), (1000, 7, 2)] {
      let queue = SymbolQueue((0..<Int32(count)).map { $0 }, chunk: chunk)
      // NSLock (pthread-based), not Synchronization.Mutex: ThreadSanitizer cannot see the
      // latter's futex on Linux and would report the array's accesses.
      let lock = NSLock()
      nonisolated(unsafe) var taken: [Range<Int>] = []
      let group = DispatchGroup()
      for _ in 0..<threads {
        let thread = Thread {
          var mine: [Range<Int>] = []
          while let r = queue.take() { mine.append(r) }
          lock.withLock { taken += mine }
          group.leave()
        }
        group.enter()
        thread.start()
      }
      group.wait()
      let ranges = lock.withLock { taken }.sorted { $0.lowerBound < $1.lowerBound }
      var next = 0
      for r in ranges {
        #expect(r.lowerBound == next, "count \(count) chunk \(chunk)")
        #expect(r.count <= chunk)
        next = r.upperBound
      }
      #expect(next == count)
      #expect(queue.take() == nil)
    }
  }

  @Test("the error message reported for a failing strategy does not depend on the worker count")
  func firstErrorIsStable() throws {
    let feed = ReplayFixtures.write(
      ReplayFixtures.simulatedLines(symbols: 120, steps: 12, seed: 11), name: "share-errors")
    let failing = """
      return { filter = function(s) error("no good: " .. s.symbol, 0) end }
      """
    let dir = ReplayFixtures.strategies(["zz_failing": failing], includeExamples: false)
    var messages: Set<String> = []
    for workers in [1, 2, 4] {
      let run = try ReplayFixtures.replay(feed, strategies: dir, workers: workers)
      let report = try #require(run.log.first { $0.hasPrefix("strategy zz_failing:") })
      messages.insert(report)
      #expect(run.summary.filterErrors == run.summary.filterCalls)
    }
    #expect(messages.count == 1, "\(messages)")
  }
}
