import NIOCore
import NIOHTTP1
import NIOPosix

/// A small HTTP/1.1 keep-alive client of the HTTP front, on SwiftNIO's HTTP codec: what the
/// `bench http` load generator and the tests speak (no TLS, no redirects, one request at a time
/// per connection, like one trainer worker's session).
public struct HTTPFrontClient {
    /// A reply: status code and body bytes.
    public struct Reply: Sendable {
        public var status: Int
        public var body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// The client's failures.
    public enum ClientError: Error, CustomStringConvertible {
        case closed
        case unexpected(String)
        public var description: String {
            switch self {
            case .closed: "the server closed the connection"
            case .unexpected(let m): "unexpected HTTP part: \(m)"
            }
        }
    }

    private var inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>
    private let host: String

    /// Opens one connection, runs `body` with a client on it, and closes it.
    public static func withConnection<R>(host: String, port: Int, _ body: (inout HTTPFrontClient) async throws -> R) async throws -> R {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var client = HTTPFrontClient(inbound: inbound.makeAsyncIterator(), outbound: outbound, host: host)
            return try await body(&client)
        }
    }

    /// Sends one request and reads its whole reply.
    public mutating func request(_ method: HTTPMethod, _ path: String, body: [UInt8] = [],
                                 headers: [(String, String)] = []) async throws -> Reply {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "Host", value: host)
        if method == .POST || !body.isEmpty {
            head.headers.add(name: "Content-Type", value: "application/json")
            head.headers.add(name: "Content-Length", value: "\(body.count)")
        }
        for (name, value) in headers { head.headers.replaceOrAdd(name: name, value: value) }
        try await outbound.write(.head(head))
        if !body.isEmpty { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
        try await outbound.write(.end(nil))

        var status = 0
        var bytes: [UInt8] = []
        while let part = try await inbound.next() {
            switch part {
            case .head(let h): status = Int(h.status.code)
            case .body(var b): bytes += b.readBytes(length: b.readableBytes) ?? []
            case .end: return Reply(status: status, body: bytes)
            }
        }
        throw ClientError.closed
    }

    /// `POST path` with a JSON body given as text.
    public mutating func post(_ path: String, json: String, headers: [(String, String)] = []) async throws -> Reply {
        try await request(.POST, path, body: Array(json.utf8), headers: headers)
    }
}
