import Dispatch
import HTTPFront
import Pipeline
import PyJSON
import Synchronization

/// `rest-shaper bench http`: the HTTP reward front under 1 and 64 concurrent keep-alive clients,
/// batches of 1 and 256 rows (OpenRLHF ≥ 0.10 sends one sample per request, 0.9.x whole batches),
/// against the same rows scored in-process by ``ShapingEngine/scoreTexts(_:)`` in the same run.
///
/// Both sides score the same batches with the same engine. The HTTP side adds what a trainer
/// pays: JSON encoding and parsing on both ends, loopback TCP, the admission gate and the hop to a
/// worker thread. Clients run in this process, on the same cores as the server.
public enum HTTPBenchmark {
    /// One measured configuration.
    public struct Scenario: Sendable {
        public var clients: Int
        public var batch: Int
        public var requests: Int
        public var errors: Int
        public var seconds: Double
        public var requestsPerSecond: Double
        public var rowsPerSecond: Double
        public var p50Millis: Double
        public var p99Millis: Double
        /// Callers of `scoreTexts` in the in-process baseline (1, or the server's worker count).
        public var inProcessCallers: Int
        public var inProcessRowsPerSecond: Double
        /// HTTP rows/s ÷ in-process rows/s.
        public var ratioVsInProcess: Double

        public var json: JSONValue {
            .object(JSONObject([
                ("clients", .int(clients)), ("batch", .int(batch)), ("requests", .int(requests)), ("errors", .int(errors)),
                ("seconds", .double(round3(seconds))), ("requests_per_s", .double(round3(requestsPerSecond))),
                ("rows_per_s", .double(round3(rowsPerSecond))), ("p50_ms", .double(round3(p50Millis))),
                ("p99_ms", .double(round3(p99Millis))), ("in_process_callers", .int(inProcessCallers)),
                ("in_process_rows_per_s", .double(round3(inProcessRowsPerSecond))),
                ("ratio_vs_in_process", .double(round3(ratioVsInProcess))),
            ]))
        }
    }

    /// Deterministic ToolRL-style rollouts (ChatML prompt + think + tool call; right, wrong and
    /// malformed calls mixed) and their ground truths.
    public static func rows(_ count: Int) -> [(solution: String, label: String)] {
        let tools = ["get_weather", "search_flights", "convert_currency", "book_table", "get_stock_price"]
        let prompt = "<|im_start|>system\nYou are a helpful assistant with tools.<|im_end|>\n<|im_start|>user\nPlease help.<|im_end|>\n<|im_start|>assistant\n"
        return (0..<count).map { i in
            let name = tools[i % tools.count]
            let gtCall = #"{"name": "\#(name)", "parameters": {"city": "Paris", "days": \#(i % 7 + 1), "unit": "celsius"}}"#
            let call: String
            switch i % 4 {
            case 0: call = gtCall
            case 1: call = #"{"name": "\#(name)", "parameters": {"city": "Lyon", "days": \#(i % 7 + 1)}}"#
            case 2: call = #"{"name": "\#(tools[(i + 1) % tools.count])", "parameters": {"city": "Paris"}}"#
            default: call = #"{"name": "\#(name)", "parameters": {"city": "Paris""#
            }
            let think = "<think>The user needs \(name); I check the arguments carefully before calling it (\(i)).</think>\n"
            return (prompt + think + "<tool_call>\n" + call + "\n</tool_call><|im_end|>",
                    "<think> plan </think>\n<tool_call>\n" + gtCall + "\n</tool_call>")
        }
    }

    /// Measures every (clients, batch) pair for `seconds` each against a front started here.
    public static func run(engine: ShapingEngine, config: HTTPFrontConfig, clients: [Int], batches: [Int],
                           seconds: Double) async throws -> [Scenario] {
        let front = try HTTPFront(config: config, engine: engine, metrics: NoMetrics())
        let (ports, sink) = AsyncStream.makeStream(of: Int.self)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { defer { sink.finish() }; try await front.run(onListening: { sink.yield($0) }) }
            var it = ports.makeAsyncIterator()
            guard let port = await it.next() else { try await group.waitForAll(); return [] }
            var out: [Scenario] = []
            do {
                for batch in batches {
                    let texts = rows(max(batch, 64))
                    // 8 distinct batches per size, cycled by every client.
                    let requests: [TextRewardRequest] = (0..<8).map { k in
                        let picked = (0..<batch).map { texts[(k * 37 + $0) % texts.count] }
                        return TextRewardRequest(solutions: picked.map(\.solution), groundTruths: picked.map(\.label), step: 0)
                    }
                    let bodies = requests.map { r in
                        PyJSON.dumps(.object(JSONObject([("query", .array(r.solutions.map { .string($0) })),
                                                         ("prompts", .array(r.solutions.map { _ in .string("") })),
                                                         ("labels", .array(r.groundTruths.map { .string($0) }))])))
                    }
                    for n in clients {
                        var s = try await overHTTP(port: port, bodies: bodies, batch: batch, clients: n, seconds: seconds)
                        s.inProcessCallers = n == 1 ? 1 : min(n, config.workers)
                        s.inProcessRowsPerSecond = inProcess(engine, requests, callers: s.inProcessCallers, seconds: seconds)
                        s.ratioVsInProcess = s.inProcessRowsPerSecond > 0 ? s.rowsPerSecond / s.inProcessRowsPerSecond : 0
                        out.append(s)
                    }
                }
            } catch {
                front.shutdown(); try? await group.waitForAll(); throw error
            }
            front.shutdown()
            try await group.waitForAll()
            return out
        }
    }

    static func overHTTP(port: Int, bodies: [String], batch: Int, clients: Int, seconds: Double) async throws -> Scenario {
        let start = now()
        let deadline = start + UInt64(seconds * 1e9)
        let results = try await withThrowingTaskGroup(of: ([UInt64], Int).self) { group in
            for c in 0..<clients {
                group.addTask {
                    try await HTTPFrontClient.withConnection(host: "127.0.0.1", port: port) { conn in
                        var latencies: [UInt64] = []
                        var errors = 0
                        var k = c
                        while now() < deadline {
                            let t0 = now()
                            let r = try await conn.post("/openrlhf/get_reward?step=0", json: bodies[k % bodies.count])
                            latencies.append(now() - t0)
                            if r.status != 200 { errors += 1 }
                            k += 1
                        }
                        return (latencies, errors)
                    }
                }
            }
            var all: ([UInt64], Int) = ([], 0)
            for try await r in group { all.0 += r.0; all.1 += r.1 }
            return all
        }
        let elapsed = Double(now() - start) / 1e9
        let sorted = results.0.sorted()
        func quantile(_ q: Double) -> Double {
            sorted.isEmpty ? 0 : Double(sorted[min(sorted.count - 1, Int((Double(sorted.count) * q).rounded(.down)))]) / 1e6
        }
        let ok = sorted.count - results.1
        return Scenario(clients: clients, batch: batch, requests: sorted.count, errors: results.1, seconds: elapsed,
                        requestsPerSecond: Double(sorted.count) / elapsed, rowsPerSecond: Double(ok * batch) / elapsed,
                        p50Millis: quantile(0.5), p99Millis: quantile(0.99), inProcessCallers: 0,
                        inProcessRowsPerSecond: 0, ratioVsInProcess: 0)
    }

    /// Rows per second of `scoreTexts` on the same batches, from `callers` threads at once.
    static func inProcess(_ engine: ShapingEngine, _ requests: [TextRewardRequest], callers: Int, seconds: Double) -> Double {
        let start = now()
        let deadline = start + UInt64(seconds * 1e9)
        let rows = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: callers) { c in
            var k = c
            while now() < deadline {
                let r = requests[k % requests.count]
                if (try? engine.scoreTexts(r)) != nil { rows.add(r.solutions.count, ordering: .relaxed) }
                k += 1
            }
        }
        return Double(rows.load(ordering: .relaxed)) / (Double(now() - start) / 1e9)
    }

    private struct NoMetrics: HTTPFrontMetrics {
        func prometheusText() -> String { "" }
        func httpRequest(route: String, error: String?) {}
        func httpScored(rows: Int) {}
    }

    private static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
    private static func round3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }
}
