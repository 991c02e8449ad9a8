import Atomics
import Foundation
import Synchronization
import Testing

@testable import Tracking

@Suite("Update bit set")
struct UpdateBitSetTests {
  @Test("4096 symbols take 1 KiB of update flags")
  func flagBytes() {
    #expect(UpdateBitSet(capacity: 4096).flagBytes == 1024)
  }

  @Test("a drain returns each marked symbol once, ascending, and empties the set")
  func drainOnce() {
    let set = UpdateBitSet(capacity: 300)
    for s in [5, 299, 64, 5, 0, 63] { set.mark(s) }
    var out: [Int32] = []
    set.swapAndDrain(into: &out)
    #expect(out == [0, 5, 63, 64, 299])
    var again: [Int32] = []
    set.swapAndDrain(into: &again)
    #expect(again.isEmpty)
    // Six marks, five distinct symbols: a second mark of a marked symbol changes nothing.
    #expect(set.updateCount == 5)
  }

  @Test("a mark after the swap is seen by the next drain, not lost")
  func markAfterSwap() {
    let set = UpdateBitSet(capacity: 64)
    set.mark(1)
    var first: [Int32] = []
    set.swapAndDrain(into: &first)
    set.mark(2)
    var second: [Int32] = []
    set.swapAndDrain(into: &second)
    #expect(first == [1])
    #expect(second == [2])
  }

  /// Writers on real threads mark symbols while a reader swaps and drains as fast as it can.
  /// Every writer records how many times it marked each symbol in rounds; a round waits
  /// until the reader has observed the symbol, so a lost mark would hang the round. At the
  /// end every (writer, round) mark must have been observed.
  @Test("no mark is lost while a reader swaps and drains concurrently")
  func noLostUpdates() {
    let symbols = 4096
    let writers = 4
    let rounds = 200
    let set = UpdateBitSet(capacity: symbols)
    // observed[s] counts drains that returned s; pending[s] is set by a writer before marking.
    let observed = UnsafeMutablePointer<Int>.allocate(capacity: symbols)
    observed.initialize(repeating: 0, count: symbols)
    defer { observed.deallocate() }
    let done = Atomic<Int>(0)
    let readerDone = Atomic<Bool>(false)
    let lost = Atomic<Int>(0)
    let flags = (0..<symbols).map { _ in ManagedAtomic<Bool>(false) }
    nonisolated(unsafe) let observedCounts = observed

    let reader = Thread {
      var out: [Int32] = []
      while done.load(ordering: .acquiring) < writers {
        out.removeAll(keepingCapacity: true)
        set.swapAndDrain(into: &out)
        for s in out {
          observedCounts[Int(s)] += 1
          flags[Int(s)].store(true, ordering: .releasing)
        }
      }
      // Stragglers: a mark that raced the last swap sits in either half.
      out.removeAll()
      set.drainAll(into: &out)
      for s in out {
        observedCounts[Int(s)] += 1
        flags[Int(s)].store(true, ordering: .releasing)
      }
      readerDone.store(true, ordering: .releasing)
    }
    reader.start()

    let writerThreads = (0..<writers).map { w in
      Thread {
        // Each writer owns the symbols s ≡ w (mod writers).
        for _ in 0..<rounds {
          var mine: [Int] = []
          for s in stride(from: w, to: symbols, by: writers * 8) {
            flags[s].store(false, ordering: .releasing)
            set.mark(s)
            mine.append(s)
          }
          for s in mine {
            var spins = 0
            while !flags[s].load(ordering: .acquiring) {
              spins += 1
              if spins > 50_000_000 {
                lost.add(1, ordering: .relaxed)
                break
              }
              sched_yield()
            }
          }
        }
        done.add(1, ordering: .releasing)
      }
    }
    for t in writerThreads { t.start() }
    while !readerDone.load(ordering: .acquiring) { usleep(1000) }
    #expect(lost.load(ordering: .relaxed) == 0)
    let total = set.updateCount
    #expect(total == UInt64(writers * rounds * (symbols / (writers * 8))))
    // Each owned symbol was marked once per round and the writer waited for it to be
    // observed before marking again: every mark seen exactly once.
    var wrong = 0
    for s in 0..<symbols {
      let owned = s % (writers * 8) < writers
      if observed[s] != (owned ? rounds : 0) { wrong += 1 }
    }
    #expect(wrong == 0)
  }
}
