import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import Synchronization

/// A REST answer of the test server.
struct RestReply: Sendable {
  var status: Int = 200
  var headers: [String: String] = [:]
  var body: String
}

/// A local stand-in for Binance on 127.0.0.1 (ephemeral port): combined-stream WebSockets on
/// `/stream?streams=...` (with `SUBSCRIBE` control messages) and REST on one port. The test
/// decides what REST answers and which frames each connection gets, and sees everything the
/// client did: requests, subscriptions, pongs.
final class TestServer: Sendable {
  struct Connection: Sendable {
    let id: Int
    let channel: any Channel
    /// Streams from the URL and from SUBSCRIBE messages, in order.
    var streams: [String]
    var subscribeMessages = 0
    var pongs: [String] = []
    var open = true
  }

  struct Request: Sendable {
    var path: String
    var query: [String: String]
    var time: ContinuousClock.Instant
  }

  struct State: Sendable {
    var connections: [Connection] = []
    var requests: [Request] = []
    /// Paths whose REST answers wait for `release(path:)`, and the answers waiting.
    var heldPaths: Set<String> = []
    var heldAnswers: [(path: String, send: @Sendable () -> Void)] = []
  }

  let state = Mutex(State())
  let rest: @Sendable (Request, Int) -> RestReply
  private let channel = Mutex<(any Channel)?>(nil)

  /// `rest(request, n)`: the answer to the n-th (0-based) request on that path.
  init(rest: @escaping @Sendable (Request, Int) -> RestReply) {
    self.rest = rest
  }

  var port: Int { channel.withLock { $0?.localAddress?.port ?? 0 } }
  var wsURL: String { "ws://127.0.0.1:\(port)" }
  var restURL: String { "http://127.0.0.1:\(port)" }

  func start() async throws {
    let server = self
    let upgrader = NIOWebSocketServerUpgrader(
      maxFrameSize: 1 << 24,
      shouldUpgrade: { channel, head in
        channel.eventLoop.makeSucceededFuture(head.uri.hasPrefix("/stream") ? HTTPHeaders() : nil)
      },
      upgradePipelineHandler: { channel, head in
        channel.eventLoop.makeCompletedFuture {
          let id = server.register(channel: channel, uri: head.uri)
          try channel.pipeline.syncOperations.addHandler(WebSocketHandler(server: server, id: id))
        }
      })
    let bound = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.configureHTTPServerPipeline(
            withServerUpgrade: (
              upgraders: [upgrader],
              completionHandler: { context in
                context.pipeline.removeHandler(name: "rest", promise: nil)
              }
            ))
          try channel.pipeline.syncOperations.addHandler(RestHandler(server: server), name: "rest")
        }
      }
      .bind(host: "127.0.0.1", port: 0).get()
    channel.withLock { $0 = bound }
  }

  func shutdown() async {
    let (server, clients) = (
      channel.withLock { $0 }, state.withLock { $0.connections.map(\.channel) }
    )
    for client in clients { try? await client.close() }
    try? await server?.close()
    for path in state.withLock({ Set($0.heldPaths) }) { release(path: path) }
  }

  // MARK: Test controls

  var connections: [Connection] { state.withLock { $0.connections } }
  var requests: [Request] { state.withLock { $0.requests } }
  func requests(path: String) -> [Request] { requests.filter { $0.path == path } }

  /// Holds the answers to REST requests on `path` (they are recorded in `requests` as they
  /// arrive) until `release(path:)`: a slow REST server, without timing.
  func hold(path: String) { state.withLock { _ = $0.heldPaths.insert(path) } }

  /// Sends the held answers on `path`, in arrival order, and stops holding it.
  func release(path: String) {
    let answers = state.withLock { state in
      state.heldPaths.remove(path)
      let (held, rest) = (
        state.heldAnswers.filter { $0.path == path }, state.heldAnswers.filter { $0.path != path }
      )
      state.heldAnswers = rest
      return held
    }
    for answer in answers { answer.send() }
  }

  /// Sends text frames on connection `id`, in order.
  func send(_ texts: [String], on id: Int) async throws {
    guard let channel = state.withLock({ $0.connections.first { $0.id == id }?.channel }) else {
      return
    }
    var last: EventLoopFuture<Void>? = nil
    for text in texts {
      let frame = WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: text))
      last = channel.write(frame)
    }
    channel.flush()
    try await last?.get()
  }

  func ping(_ payload: String, on id: Int) async throws {
    guard let channel = state.withLock({ $0.connections.first { $0.id == id }?.channel }) else {
      return
    }
    try await channel.writeAndFlush(
      WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer(string: payload))
    ).get()
  }

  /// Closes the TCP connection without a WebSocket close handshake.
  func drop(_ id: Int) async {
    let channel = state.withLock { $0.connections.first { $0.id == id }?.channel }
    try? await channel?.close()
  }

  // MARK: Handlers' side

  fileprivate func register(channel: any Channel, uri: String) -> Int {
    let streams = Self.query(uri)["streams"].map { $0.split(separator: "/").map(String.init) } ?? []
    return state.withLock {
      let id = $0.connections.count
      $0.connections.append(Connection(id: id, channel: channel, streams: streams))
      return id
    }
  }

  fileprivate func update(_ id: Int, _ body: (inout Connection) -> Void) {
    state.withLock { if $0.connections.indices.contains(id) { body(&$0.connections[id]) } }
  }

  /// Runs `send` now, or on `release(path:)` when the request's path is held.
  fileprivate func whenReleased(uri: String, _ send: @escaping @Sendable () -> Void) {
    let path = Self.path(uri)
    let now = state.withLock { state in
      guard state.heldPaths.contains(path) else { return true }
      state.heldAnswers.append((path, send))
      return false
    }
    if now { send() }
  }

  static func path(_ uri: String) -> String {
    String(uri.split(separator: "?", maxSplits: 1).first ?? "")
  }

  fileprivate func answer(uri: String) -> RestReply {
    let path = Self.path(uri)
    let request = Request(path: path, query: Self.query(uri), time: .now)
    let n = state.withLock { state in
      defer { state.requests.append(request) }
      return state.requests.filter { $0.path == path }.count
    }
    return rest(request, n)
  }

  static func query(_ uri: String) -> [String: String] {
    guard let q = uri.split(separator: "?", maxSplits: 1).dropFirst().first else { return [:] }
    var out: [String: String] = [:]
    for pair in q.split(separator: "&") {
      let kv = pair.split(separator: "=", maxSplits: 1)
      out[String(kv[0])] = kv.count > 1 ? String(kv[1]) : ""
    }
    return out
  }
}

private final class RestHandler: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = HTTPServerRequestPart
  typealias OutboundOut = HTTPServerResponsePart
  let server: TestServer
  var head: HTTPRequestHead?

  init(server: TestServer) { self.server = server }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .head(let head): self.head = head
    case .body: break
    case .end:
      guard let head else { return }
      self.head = nil
      let reply = server.answer(uri: head.uri)
      let eventLoop = context.eventLoop
      let loopBound = NIOLoopBound(context, eventLoop: eventLoop)
      server.whenReleased(uri: head.uri) {
        if eventLoop.inEventLoop {
          Self.respond(loopBound.value, head: head, reply: reply)
        } else {
          eventLoop.execute { Self.respond(loopBound.value, head: head, reply: reply) }
        }
      }
    }
  }

  private static func respond(
    _ context: ChannelHandlerContext, head: HTTPRequestHead, reply: RestReply
  ) {
    var headers = HTTPHeaders()
    headers.add(name: "Content-Type", value: "application/json")
    headers.add(name: "Content-Length", value: String(reply.body.utf8.count))
    for (name, value) in reply.headers { headers.add(name: name, value: value) }
    let keepAlive = head.isKeepAlive
    if !keepAlive { headers.add(name: "Connection", value: "close") }
    let response = HTTPResponseHead(
      version: head.version, status: HTTPResponseStatus(statusCode: reply.status),
      headers: headers)
    context.write(NIOAny(HTTPServerResponsePart.head(response)), promise: nil)
    context.write(
      NIOAny(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: reply.body)))),
      promise: nil)
    let done = context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)))
    if !keepAlive {
      let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
      done.whenComplete { _ in loopBound.value.close(promise: nil) }
    }
  }
}

private final class WebSocketHandler: ChannelInboundHandler {
  typealias InboundIn = WebSocketFrame
  typealias OutboundOut = WebSocketFrame
  let server: TestServer
  let id: Int

  init(server: TestServer, id: Int) {
    self.server = server
    self.id = id
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    let frame = unwrapInboundIn(data)
    var payload = frame.unmaskedData
    let text = payload.readString(length: payload.readableBytes) ?? ""
    switch frame.opcode {
    case .text:
      guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
        object["method"] as? String == "SUBSCRIBE",
        let params = object["params"] as? [String]
      else { return }
      let requestID = object["id"] as? Int ?? 0
      server.update(id) {
        $0.streams += params
        $0.subscribeMessages += 1
      }
      let reply = #"{"result":null,"id":\#(requestID)}"#
      context.writeAndFlush(
        wrapOutboundOut(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: reply))),
        promise: nil)
    case .ping:
      context.writeAndFlush(
        wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: ByteBuffer(string: text))),
        promise: nil)
    case .pong:
      server.update(id) { $0.pongs.append(text) }
    case .connectionClose:
      let close = WebSocketFrame(fin: true, opcode: .connectionClose, data: frame.unmaskedData)
      let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
      context.writeAndFlush(wrapOutboundOut(close)).whenComplete { _ in
        loopBound.value.close(promise: nil)
      }
    default:
      break
    }
  }

  func channelInactive(context: ChannelHandlerContext) {
    server.update(id) { $0.open = false }
    context.fireChannelInactive()
  }
}
