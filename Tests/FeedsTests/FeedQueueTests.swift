import Foundation
import Testing

@testable import Feeds
import Support

@Suite("Feed queue")
struct FeedQueueTests {
  @Test("a queue dropped with messages still in it is freed cleanly")
  func dropFull() {
    for _ in 0..<20 {
      let queue = FeedQueue(capacity: 4)
      queue.push(.batch(FeedBatch()))
      queue.push(.end)
      // Freed here with two messages queued (libdispatch traps on a semaphore freed below
      // its initial value: the queue must not create one that way).
    }
    let queue = FeedQueue(capacity: 2)
    queue.push(.end)
    if case .end = queue.pop(timeoutMs: 10) {} else { Issue.record("expected .end") }
    #expect(queue.pop(timeoutMs: 10) == nil)
  }

  @Test("a full queue blocks the producer until the consumer takes a message (back-pressure)")
  func backPressure() {
    let queue = FeedQueue(capacity: 1)
    let stop = StopFlag()
    queue.push(.end)
    let began = Date()
    let pusher = Thread { queue.push(.end, unless: stop) }
    pusher.start()
    usleep(200_000)
    _ = queue.pop(timeoutMs: 100)
    _ = queue.pop(timeoutMs: 2000)
    #expect(Date().timeIntervalSince(began) >= 0.2)
  }
}
