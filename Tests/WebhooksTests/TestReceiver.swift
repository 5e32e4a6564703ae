import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import TestSupport

/// A real HTTP/1.1 server on 127.0.0.1 (an ephemeral port) that records every request and answers
/// from a script: the n-th request gets the n-th scripted answer, later ones the default.
final class TestReceiver: Sendable {
    /// How to answer one request.
    enum Answer: Sendable, Equatable {
        case status(Int)
        /// Read the request, never answer (a receiver that hangs, or the agent "crashing" mid-request).
        case silence
    }

    struct Request: Sendable {
        var method: HTTPMethod
        var uri: String
        var headers: HTTPHeaders
        var body: [UInt8]

        func header(_ name: String) -> String? { headers.first(name: name) }
    }

    private struct State {
        var requests: [Request] = []
        var script: [Answer]
        var defaultAnswer: Answer
    }

    /// The state, in a class so the server's handlers can share it.
    private final class Box: Sendable {
        let state: Mutex<State>
        init(_ state: State) { self.state = Mutex(state) }
    }

    private let box: Box
    private let channel: any Channel
    let port: Int

    /// Starts listening. `script` answers the first requests in order, `defaultAnswer` the rest.
    init(script: [Answer] = [], defaultAnswer: Answer = .status(200)) async throws {
        let box = Box(State(script: script, defaultAnswer: defaultAnswer))
        self.box = box
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(
                        Handler { request in
                            box.state.withLock { state -> Answer in
                                state.requests.append(request)
                                return state.script.isEmpty ? state.defaultAnswer : state.script.removeFirst()
                            }
                        })
                }
            }
        channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
    }

    /// The URL of `path` on this server.
    func url(_ path: String = "/hook") -> String { "http://127.0.0.1:\(port)\(path)" }

    var requests: [Request] { box.state.withLock { $0.requests } }

    /// Waits until at least `count` requests arrived; throws ``DeadlineExceeded`` after `limit`.
    func waitForRequests(_ count: Int, limit: Duration = .seconds(20)) async throws -> [Request] {
        try await eventually("\(count) webhook requests arrive", deadline: limit) { requests.count >= count }
        return requests
    }

    func close() async throws {
        try await channel.close()
    }

    /// Collects one request and answers it as the script says.
    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        private let record: (Request) -> Answer
        private var head: HTTPRequestHead?
        private var body: [UInt8] = []

        init(record: @escaping (Request) -> Answer) { self.record = record }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body = []
            case .body(let buffer):
                body.append(contentsOf: buffer.readableBytesView)
            case .end:
                guard let head else { return }
                let answer = record(Request(method: head.method, uri: head.uri, headers: head.headers, body: body))
                guard case .status(let code) = answer else { return }
                var headers = HTTPHeaders()
                headers.add(name: "Content-Length", value: "0")
                let response = HTTPResponseHead(
                    version: head.version, status: HTTPResponseStatus(statusCode: code),
                    headers: headers)
                context.write(wrapOutboundOut(.head(response)), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
