// A thin, synchronous wrapper of NATS's C client (Debian's libnats-dev): one connection with
// its JetStream context, and the few JetStream calls the bus roles need. Written here because
// the Swift NATS client is not among the packages this project can depend on; the protocol
// itself (reconnects, JetStream requests, headers) stays in the vendor's C library.
//
// Calls are synchronous, on the caller's thread, but for one: pipelined publishing, whose
// refusals the library reports from its own thread through a C callback that only counts them
// in an atomic (see `PipelineFailures`).

import CNats
import Foundation
import Synchronization

/// A NATS or JetStream failure: the client's status, the JetStream error code when the server
/// answered with one, and the text.
public struct NatsError: Error, CustomStringConvertible, Sendable {
  public var status: Int
  /// JetStream's error code (e.g. 10071, wrong last sequence), 0 when there is none.
  public var code: Int
  public var text: String

  public var description: String { text }

  /// The server refused a publish whose expected last subject sequence was not the stream's.
  public var isWrongLastSequence: Bool { code == 10071 }

  /// A failure that may pass: a timeout, a broker that is restarting or unreachable. A refusal
  /// by the server (a JetStream error code) is not.
  public var isTransient: Bool { code == 0 && status != Int(NATS_INVALID_ARG.rawValue) }

  static func from(_ status: natsStatus, code: jsErrCode = jsErrCode(0), doing: String) -> NatsError
  {
    var last = NATS_OK
    let detail = nats_GetLastError(&last).map { String(cString: $0) } ?? ""
    let statusText = natsStatus_GetText(status).map { String(cString: $0) } ?? "error"
    var text = "\(doing): \(statusText)"
    if !detail.isEmpty && detail != statusText { text += " (\(detail))" }
    if code.rawValue != 0 { text += " [JetStream error \(code.rawValue)]" }
    return NatsError(status: Int(status.rawValue), code: Int(code.rawValue), text: text)
  }
}

/// A message read from a stream.
public struct BusMessage: Sendable {
  public var subject: String
  public var sequence: UInt64
  public var headers: [String: String]
  public var data: [UInt8]

  public init(subject: String, sequence: UInt64, headers: [String: String], data: [UInt8]) {
    self.subject = subject
    self.sequence = sequence
    self.headers = headers
    self.data = data
  }
}

/// What a stream keeps.
public struct StreamSpec: Sendable, Equatable {
  public var name: String
  public var subjects: [String]
  /// Messages older than this are dropped (nil: kept).
  public var maxAgeSeconds: Double?
  /// The window in which a repeated `Nats-Msg-Id` is recognised as a duplicate.
  public var duplicateWindowSeconds: Double
  /// Keep only the newest message of each subject.
  public var lastPerSubject: Bool

  public init(
    name: String, subjects: [String], maxAgeSeconds: Double? = nil,
    duplicateWindowSeconds: Double = 120, lastPerSubject: Bool = false
  ) {
    self.name = name
    self.subjects = subjects
    self.maxAgeSeconds = maxAgeSeconds
    self.duplicateWindowSeconds = duplicateWindowSeconds
    self.lastPerSubject = lastPerSubject
  }
}

/// One connection to a NATS server with JetStream.
///
/// nats.c documents its connection and JetStream context as safe to use from several threads;
/// this class adds no state of its own after `init` but the two handles.
public final class NatsConnection: @unchecked Sendable {  // safe: immutable handles, see below
  // `connection` and `jetStream` are set once in `init` and only passed to nats.c,
  // whose connection and context calls are thread-safe; `close()` is called once, by the owner,
  // after every other use. `failures` is itself Sendable (an atomic).
  private let connection: OpaquePointer
  private let jetStream: OpaquePointer
  /// Pipelined publishes the broker refused, counted by the library's callback.
  private let failures = PipelineFailures()
  public let url: String

  /// Connects to `url` (e.g. `nats://127.0.0.1:4222`), retrying for up to `timeout` seconds;
  /// once connected, the client reconnects by itself for as long as the process lives.
  public init(url: String, name: String, timeout: Double = 10) throws(NatsError) {
    self.url = url
    var opts: OpaquePointer?
    var s = natsOptions_Create(&opts)
    guard s == NATS_OK, let opts else { throw NatsError.from(s, doing: "nats options") }
    defer { natsOptions_Destroy(opts) }
    _ = natsOptions_SetURL(opts, url)
    _ = natsOptions_SetName(opts, name)
    _ = natsOptions_SetMaxReconnect(opts, -1)
    _ = natsOptions_SetReconnectWait(opts, 100)
    _ = natsOptions_SetTimeout(opts, 2000)
    // Messages published while reconnecting are buffered (up to 8 MiB), then sent.
    _ = natsOptions_SetReconnectBufSize(opts, 8 * 1024 * 1024)
    let deadline = Date().addingTimeInterval(timeout)
    var nc: OpaquePointer?
    while true {
      s = natsConnection_Connect(&nc, opts)
      if s == NATS_OK { break }
      if Date() >= deadline { throw NatsError.from(s, doing: "connect to \(url)") }
      Thread.sleep(forTimeInterval: 0.1)
    }
    guard let nc else { throw NatsError.from(NATS_ERR, doing: "connect to \(url)") }
    var jsOpts = jsOptions()
    _ = jsOptions_Init(&jsOpts)
    jsOpts.Wait = 2000
    // A refused pipelined publish is counted; the library then destroys the message. The
    // pointer stays valid: `failures` lives as long as this object, the context not longer.
    jsOpts.PublishAsync.ErrHandler = { _, _, closure in
      guard let closure else { return }
      Unmanaged<PipelineFailures>.fromOpaque(closure).takeUnretainedValue().count.add(
        1, ordering: .relaxed)
    }
    jsOpts.PublishAsync.ErrHandlerClosure = Unmanaged.passUnretained(failures).toOpaque()
    var js: OpaquePointer?
    s = natsConnection_JetStream(&js, nc, &jsOpts)
    guard s == NATS_OK, let js else {
      natsConnection_Destroy(nc)
      throw NatsError.from(s, doing: "JetStream on \(url)")
    }
    connection = nc
    jetStream = js
  }

  /// Closes the connection; the object must not be used afterwards.
  public func close() {
    jsCtx_Destroy(jetStream)
    natsConnection_Close(connection)
    natsConnection_Destroy(connection)
  }

  // MARK: Streams

  /// Creates `spec`'s stream, or checks that the existing one has the same subjects.
  public func ensureStream(_ spec: StreamSpec) throws(NatsError) {
    if let existing = try streamSubjects(spec.name) {
      guard Set(existing) == Set(spec.subjects) else {
        throw NatsError(
          status: 0, code: 0,
          text:
            "stream \(spec.name) exists with subjects \(existing.joined(separator: ",")), not \(spec.subjects.joined(separator: ","))"
        )
      }
      return
    }
    var cfg = jsStreamConfig()
    _ = jsStreamConfig_Init(&cfg)
    let name = strdup(spec.name)
    let subjects = spec.subjects.map { UnsafePointer(strdup($0)) }
    defer {
      free(name)
      for s in subjects { free(UnsafeMutablePointer(mutating: s)) }
    }
    var errCode = jsErrCode(0)
    var info: UnsafeMutablePointer<jsStreamInfo>?
    let s: natsStatus = subjects.withUnsafeBufferPointer { buf in
      cfg.Name = UnsafePointer(name)
      cfg.Subjects = UnsafeMutablePointer(mutating: buf.baseAddress)
      cfg.SubjectsLen = Int32(buf.count)
      cfg.Storage = js_FileStorage
      cfg.AllowDirect = true
      cfg.Duplicates = Int64(spec.duplicateWindowSeconds * 1e9)
      if let age = spec.maxAgeSeconds { cfg.MaxAge = Int64(age * 1e9) }
      if spec.lastPerSubject { cfg.MaxMsgsPerSubject = 1 }
      return js_AddStream(&info, jetStream, &cfg, nil, &errCode)
    }
    if let info { jsStreamInfo_Destroy(info) }
    guard s == NATS_OK else {
      throw NatsError.from(s, code: errCode, doing: "create stream \(spec.name)")
    }
  }

  /// The subjects of stream `name`, nil when it does not exist.
  public func streamSubjects(_ name: String) throws(NatsError) -> [String]? {
    var info: UnsafeMutablePointer<jsStreamInfo>?
    var errCode = jsErrCode(0)
    let s = js_GetStreamInfo(&info, jetStream, name, nil, &errCode)
    if errCode == JSStreamNotFoundErr || s == NATS_NOT_FOUND { return nil }
    guard s == NATS_OK, let info else {
      throw NatsError.from(s, code: errCode, doing: "stream \(name)")
    }
    defer { jsStreamInfo_Destroy(info) }
    guard let cfg = info.pointee.Config else { return [] }
    var subjects: [String] = []
    for i in 0..<Int(cfg.pointee.SubjectsLen) {
      if let p = cfg.pointee.Subjects[i] { subjects.append(String(cString: p)) }
    }
    return subjects
  }

  // MARK: Publishing

  /// Publishes `data` on `subject` and waits for the stream's acknowledgement.
  /// - Parameters:
  ///   - msgID: `Nats-Msg-Id`: a repeat within the stream's duplicate window is stored once.
  ///   - expectLastSubjectSequence: the stream refuses the message unless the last message on
  ///     `subject` has this sequence (0: there is none); this fences a second writer.
  /// - Returns: the message's sequence in the stream, and whether it was a duplicate.
  @discardableResult
  public func publish(
    subject: String, data: [UInt8], headers: [(String, String)] = [], msgID: String? = nil,
    expectLastSubjectSequence: UInt64? = nil
  ) throws(NatsError) -> (sequence: UInt64, duplicate: Bool) {
    let msg = try Self.message(subject: subject, data: data, headers: headers)
    defer { natsMsg_Destroy(msg) }
    var opts = jsPubOptions()
    _ = jsPubOptions_Init(&opts)
    let id = msgID.map { strdup($0) } ?? nil
    defer { free(id) }
    opts.MsgId = UnsafePointer(id)
    if let expected = expectLastSubjectSequence {
      if expected == 0 { opts.ExpectNoMessage = true } else { opts.ExpectLastSubjectSeq = expected }
    }
    var ack: UnsafeMutablePointer<jsPubAck>?
    var errCode = jsErrCode(0)
    let s = js_PublishMsg(&ack, jetStream, msg, &opts, &errCode)
    guard s == NATS_OK, let ack else {
      throw NatsError.from(s, code: errCode, doing: "publish on \(subject)")
    }
    defer { jsPubAck_Destroy(ack) }
    return (ack.pointee.Sequence, ack.pointee.Duplicate)
  }

  /// A message to publish with ``publishPipelined(_:timeoutMs:)``.
  public struct Outgoing: Sendable {
    public var subject: String
    public var data: [UInt8]
    public var headers: [(String, String)]
    public var msgID: String

    public init(subject: String, data: [UInt8], headers: [(String, String)], msgID: String) {
      self.subject = subject
      self.data = data
      self.headers = headers
      self.msgID = msgID
    }
  }

  /// Publishes `messages` without waiting for each acknowledgement, then waits up to
  /// `timeoutMs` for all of them: one round trip for the lot instead of one each. True when
  /// the broker acknowledged every one (stored, or a duplicate of a stored id). False when
  /// one could not be sent, was refused or was not acknowledged in time: some may be stored,
  /// and the caller publishes the lot again (their ids make the stored ones duplicates).
  /// One pipelined batch at a time per connection: the refusals are counted per connection.
  public func publishPipelined(_ messages: [Outgoing], timeoutMs: Int64) -> Bool {
    _ = failures.count.exchange(0, ordering: .relaxed)
    var sent = true
    for m in messages {
      guard let msg = try? Self.message(subject: m.subject, data: m.data, headers: m.headers)
      else {
        sent = false
        break
      }
      var opts = jsPubOptions()
      _ = jsPubOptions_Init(&opts)
      let id = strdup(m.msgID)
      opts.MsgId = UnsafePointer(id)
      // The library takes the message (and clears `owned`) when the call succeeds.
      var owned: OpaquePointer? = msg
      let s = js_PublishMsgAsync(jetStream, &owned, &opts)
      free(id)
      natsMsg_Destroy(owned)
      if s != NATS_OK {
        sent = false
        break
      }
    }
    var wait = jsPubOptions()
    _ = jsPubOptions_Init(&wait)
    wait.MaxWait = sent ? timeoutMs : min(timeoutMs, 200)
    let completed = js_PublishAsyncComplete(jetStream, &wait) == NATS_OK
    if !completed {
      // Given back unacknowledged; a late acknowledgement of one is then ignored.
      var pending = natsMsgList()
      if js_PublishAsyncGetPendingList(&pending, jetStream) == NATS_OK {
        natsMsgList_Destroy(&pending)
      }
    }
    // The callback ran before the completion it counted was signalled (under the library's
    // lock), so every refusal of this batch is counted by now.
    return sent && completed && failures.count.load(ordering: .relaxed) == 0
  }

  private static func message(subject: String, data: [UInt8], headers: [(String, String)])
    throws(NatsError) -> OpaquePointer
  {
    var msg: OpaquePointer?
    let s = data.withUnsafeBufferPointer { buf in
      natsMsg_Create(
        &msg, subject, nil,
        buf.baseAddress.map { UnsafeRawPointer($0) }?
          .assumingMemoryBound(to: CChar.self), Int32(buf.count))
    }
    guard s == NATS_OK, let msg else { throw NatsError.from(s, doing: "message for \(subject)") }
    for (k, v) in headers { _ = natsMsgHeader_Set(msg, k, v) }
    return msg
  }

  // MARK: Reading

  /// The last message on `subject` in `stream`, nil when there is none.
  public func lastMessage(stream: String, subject: String) throws(NatsError) -> BusMessage? {
    try directGet(stream: stream, doing: "last message on \(subject)") { o in
      o.LastBySubject = UnsafePointer(strdup(subject))
    }
  }

  /// The first message at or after sequence `from` whose subject matches `subject` (wildcards
  /// allowed), nil when there is none yet.
  public func nextMessage(stream: String, subject: String, from: UInt64) throws(NatsError)
    -> BusMessage?
  {
    try directGet(stream: stream, doing: "next message on \(subject)") { o in
      o.NextBySubject = UnsafePointer(strdup(subject))
      o.Sequence = max(from, 1)
    }
  }

  private func directGet(
    stream: String, doing: String, _ configure: (inout jsDirectGetMsgOptions) -> Void
  ) throws(NatsError) -> BusMessage? {
    var o = jsDirectGetMsgOptions()
    _ = jsDirectGetMsgOptions_Init(&o)
    configure(&o)
    defer {
      free(UnsafeMutablePointer(mutating: o.LastBySubject))
      free(UnsafeMutablePointer(mutating: o.NextBySubject))
    }
    var msg: OpaquePointer?
    let s = js_DirectGetMsg(&msg, jetStream, stream, nil, &o)
    if s == NATS_NOT_FOUND { return nil }
    guard s == NATS_OK, let msg else { throw NatsError.from(s, doing: doing) }
    defer { natsMsg_Destroy(msg) }
    return Self.copy(msg)
  }

  private static func copy(_ msg: OpaquePointer) -> BusMessage {
    var headers: [String: String] = [:]
    var keys: UnsafeMutablePointer<UnsafePointer<CChar>?>?
    var count: Int32 = 0
    if natsMsgHeader_Keys(msg, &keys, &count) == NATS_OK, let keys {
      for i in 0..<Int(count) {
        guard let k = keys[i] else { continue }
        var value: UnsafePointer<CChar>?
        if natsMsgHeader_Get(msg, k, &value) == NATS_OK, let value {
          headers[String(cString: k)] = String(cString: value)
        }
      }
      free(keys)
    }
    let length = Int(natsMsg_GetDataLength(msg))
    var data = [UInt8](repeating: 0, count: length)
    if length > 0, let p = natsMsg_GetData(msg) {
      data.withUnsafeMutableBytes {
        $0.copyMemory(from: UnsafeRawBufferPointer(start: p, count: length))
      }
    }
    let subject =
      headers["Nats-Subject"] ?? natsMsg_GetSubject(msg).map { String(cString: $0) } ?? ""
    let sequence = headers["Nats-Sequence"].flatMap { UInt64($0) } ?? natsMsg_GetSequence(msg)
    return BusMessage(subject: subject, sequence: sequence, headers: headers, data: data)
  }
}

/// Refused pipelined publishes of one connection, counted from the library's thread.
final class PipelineFailures: Sendable {
  let count = Atomic<Int>(0)
}
