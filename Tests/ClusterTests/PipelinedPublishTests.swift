import Foundation
import NatsKit
import Testing

/// `NatsConnection.publishPipelined` against a real nats-server: what it reports is what the
/// stream holds.
@Suite("Pipelined publishing")
struct PipelinedPublishTests {
  static func outgoing(_ subject: String, _ id: String, _ text: String) -> NatsConnection.Outgoing {
    NatsConnection.Outgoing(
      subject: subject, data: Array(text.utf8), headers: [("X-Test", id)], msgID: id)
  }

  /// Every message of `subject` in `stream`, in order.
  static func messages(_ nats: NatsConnection, stream: String, subject: String) throws
    -> [String]
  {
    var out: [String] = []
    var from: UInt64 = 1
    while let m = try nats.nextMessage(stream: stream, subject: subject, from: from) {
      out.append(String(decoding: m.data, as: UTF8.self))
      from = m.sequence + 1
    }
    return out
  }

  /// Runs `body` with a connection to a fresh nats-server holding stream `T` on `t.*`.
  static func withStream(_ body: (NatsConnection) throws -> Void) throws {
    let p = Processes(dir: try Paths.temporaryDirectory("pipelined"))
    defer { p.killAll() }
    let server = try NatsServer(processes: p)
    let nats = try NatsConnection(url: server.url, name: "test")
    defer { nats.close() }
    try nats.ensureStream(StreamSpec(name: "T", subjects: ["t.*"]))
    try body(nats)
  }

  @Test("acknowledged batches are stored once each, in order; a repeated id is a duplicate")
  func storedInOrder() throws {
    try Self.withStream { (nats) throws in
      let first = (0..<50).map { Self.outgoing("t.\($0 % 5)", "a\($0)", "m\($0)") }
      #expect(nats.publishPipelined(first, timeoutMs: 5_000))
      // The same ids again (a republished batch) and new ones after them.
      let again =
        first.prefix(20) + (50..<60).map { Self.outgoing("t.\($0 % 5)", "a\($0)", "m\($0)") }
      #expect(nats.publishPipelined(Array(again), timeoutMs: 5_000))
      for s in 0..<5 {
        let expected = (0..<60).filter { $0 % 5 == s }.map { "m\($0)" }
        #expect(try Self.messages(nats, stream: "T", subject: "t.\(s)") == expected)
      }
    }
  }

  @Test("a message the broker refuses makes the batch report false; the others are stored")
  func refusalReported() throws {
    try Self.withStream { (nats) throws in
      // `none.x` belongs to no stream: JetStream does not acknowledge it.
      let batch = [
        Self.outgoing("t.1", "b1", "one"), Self.outgoing("none.x", "b2", "lost"),
        Self.outgoing("t.1", "b3", "three"),
      ]
      #expect(!nats.publishPipelined(batch, timeoutMs: 3_000))
      #expect(try Self.messages(nats, stream: "T", subject: "t.1") == ["one", "three"])
      // The next batch starts with a clean count.
      #expect(nats.publishPipelined([Self.outgoing("t.1", "b4", "four")], timeoutMs: 5_000))
      #expect(try Self.messages(nats, stream: "T", subject: "t.1") == ["one", "three", "four"])
    }
  }
}
