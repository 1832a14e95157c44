import Foundation
import HTTPFront
import Pipeline
import PyJSON
import Synchronization
import TestSupport

/// Prometheus text that says where it came from (the real one is the sidecar's).
final class FixedMetrics: HTTPFrontMetrics {
    func prometheusText() -> String { "# TYPE rest_shaper_test gauge\nrest_shaper_test 1\n" }
    let counted = Mutex<(requests: [String: Int], errors: [String: Int], rows: Int)>(([:], [:], 0))
    func httpRequest(route: String, error: String?) {
        counted.withLock { c in
            c.requests[route, default: 0] += 1
            if let error { c.errors[error, default: 0] += 1 }
        }
    }
    func httpScored(rows: Int) { counted.withLock { $0.rows += rows } }
}

enum FrontHarness {
    /// The engine every test front uses (Qwen3 vocabulary; texts need no tokenizer, but the engine owns one).
    static func engine(threads: Int = 2) throws -> ShapingEngine {
        ShapingEngine(tokenizer: try TestFixtures.qwenTokenizer(), threads: threads)
    }

    /// Runs an ``HTTPFront`` on a free loopback port around `body`, then drains it and waits for it to stop.
    static func withFront<R: Sendable>(_ config: HTTPFrontConfig = HTTPFrontConfig(port: 0), metrics: FixedMetrics = FixedMetrics(),
                                       _ body: @Sendable (HTTPFront, Int) async throws -> R) async throws -> R {
        let front = try HTTPFront(config: config, engine: try engine(), metrics: metrics)
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { portSink.finish() }
                try await front.run(onListening: { portSink.yield($0) })
            }
            var it = ports.makeAsyncIterator()
            guard let port = await it.next() else {
                try await group.waitForAll()
                throw HTTPFrontClient.ClientError.closed
            }
            do {
                let r = try await body(front, port)
                front.shutdown()
                try await group.waitForAll()
                return r
            } catch {
                front.shutdown()
                try? await group.waitForAll()
                throw error
            }
        }
    }

    /// One request on a fresh connection.
    static func post(_ port: Int, _ path: String, json: String, headers: [(String, String)] = []) async throws -> HTTPFrontClient.Reply {
        try await HTTPFrontClient.withConnection(host: "127.0.0.1", port: port) { try await $0.post(path, json: json, headers: headers) }
    }

    static func get(_ port: Int, _ path: String, headers: [(String, String)] = []) async throws -> HTTPFrontClient.Reply {
        try await HTTPFrontClient.withConnection(host: "127.0.0.1", port: port) { try await $0.request(.GET, path, headers: headers) }
    }

    /// The golden vectors document (TestSupport's copy).
    static func vectors() throws -> JSONValue {
        try PyJSON.loads([UInt8](TestFixtures.goldenVectors()))
    }

    /// slime's view of a solution string: the chat-templated prompt (through the last assistant
    /// header) and the response after it.
    static func splitPrompt(_ solution: String) -> (prompt: String, response: String) {
        guard let r = solution.range(of: "<|im_start|>assistant\n", options: .backwards) else { return ("", solution) }
        return (String(solution[..<r.upperBound]), String(solution[r.upperBound...]))
    }

    static func json(_ v: JSONValue) -> String { PyJSON.dumps(v) }

    static func parse(_ reply: HTTPFrontClient.Reply) throws -> JSONValue { try PyJSON.loads(reply.body) }
}
