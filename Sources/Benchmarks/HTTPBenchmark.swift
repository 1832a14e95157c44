import Dispatch
import HTTPFront
#if canImport(Glibc)
import Glibc
#endif
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
///
/// The two sides alternate in `rounds` short slices (HTTP, in-process, HTTP, …) so that load from
/// other processes falls on both alike; besides wall-clock rates, each side's process CPU time
/// per row is reported (the HTTP side's includes its clients' work), which other processes'
/// load disturbs far less.
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
        /// Process CPU µs per row scored: over HTTP (clients included) and in-process.
        public var cpuMicrosPerRow: Double
        public var inProcessCPUMicrosPerRow: Double

        public var json: JSONValue {
            .object(JSONObject([
                ("clients", .int(clients)), ("batch", .int(batch)), ("requests", .int(requests)), ("errors", .int(errors)),
                ("seconds", .double(round3(seconds))), ("requests_per_s", .double(round3(requestsPerSecond))),
                ("rows_per_s", .double(round3(rowsPerSecond))), ("p50_ms", .double(round3(p50Millis))),
                ("p99_ms", .double(round3(p99Millis))), ("in_process_callers", .int(inProcessCallers)),
                ("in_process_rows_per_s", .double(round3(inProcessRowsPerSecond))),
                ("ratio_vs_in_process", .double(round3(ratioVsInProcess))),
                ("cpu_us_per_row", .double(round3(cpuMicrosPerRow))),
                ("in_process_cpu_us_per_row", .double(round3(inProcessCPUMicrosPerRow))),
                ("cpu_ratio_vs_in_process", .double(cpuMicrosPerRow > 0 ? round3(inProcessCPUMicrosPerRow / cpuMicrosPerRow) : 0)),
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

    /// Measures every (clients, batch) pair for `seconds` on each side, in `rounds` alternating
    /// slices, against a front started here.
    public static func run(engine: ShapingEngine, config: HTTPFrontConfig, clients: [Int], batches: [Int],
                           seconds: Double, rounds: Int = 4) async throws -> [Scenario] {
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
                        let callers = n == 1 ? 1 : min(n, config.workers)
                        let slice = seconds / Double(max(1, rounds))
                        var http = Slice(), local = Slice()
                        for _ in 0..<max(1, rounds) {
                            http.add(try await overHTTP(port: port, bodies: bodies, batch: batch, clients: n, seconds: slice))
                            local.add(inProcess(engine, requests, callers: callers, seconds: slice))
                        }
                        out.append(http.scenario(clients: n, batch: batch, callers: callers, inProcess: local))
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

    /// What one side measured over its slices.
    struct Slice {
        var latencies: [UInt64] = []
        var errors = 0
        var rows = 0
        var wallNanos: UInt64 = 0
        var cpuMicros = 0

        mutating func add(_ other: Slice) {
            latencies += other.latencies; errors += other.errors; rows += other.rows
            wallNanos += other.wallNanos; cpuMicros += other.cpuMicros
        }

        var seconds: Double { Double(wallNanos) / 1e9 }
        var rowsPerSecond: Double { seconds > 0 ? Double(rows) / seconds : 0 }
        var cpuPerRow: Double { rows > 0 ? Double(cpuMicros) / Double(rows) : 0 }

        func scenario(clients: Int, batch: Int, callers: Int, inProcess local: Slice) -> Scenario {
            let sorted = latencies.sorted()
            func quantile(_ q: Double) -> Double {
                sorted.isEmpty ? 0 : Double(sorted[min(sorted.count - 1, Int((Double(sorted.count) * q).rounded(.down)))]) / 1e6
            }
            return Scenario(clients: clients, batch: batch, requests: sorted.count, errors: errors, seconds: seconds,
                            requestsPerSecond: seconds > 0 ? Double(sorted.count) / seconds : 0, rowsPerSecond: rowsPerSecond,
                            p50Millis: quantile(0.5), p99Millis: quantile(0.99), inProcessCallers: callers,
                            inProcessRowsPerSecond: local.rowsPerSecond,
                            ratioVsInProcess: local.rowsPerSecond > 0 ? rowsPerSecond / local.rowsPerSecond : 0,
                            cpuMicrosPerRow: cpuPerRow, inProcessCPUMicrosPerRow: local.cpuPerRow)
        }
    }

    /// `clients` keep-alive connections posting OpenRLHF batches back to back for `seconds`.
    static func overHTTP(port: Int, bodies: [String], batch: Int, clients: Int, seconds: Double) async throws -> Slice {
        let (start, cpu0) = (now(), cpuMicros())
        let deadline = start + UInt64(seconds * 1e9)
        var slice = try await withThrowingTaskGroup(of: Slice.self) { group in
            for c in 0..<clients {
                group.addTask {
                    try await HTTPFrontClient.withConnection(host: "127.0.0.1", port: port) { conn in
                        var s = Slice()
                        var k = c
                        while now() < deadline {
                            let t0 = now()
                            let r = try await conn.post("/openrlhf/get_reward?step=0", json: bodies[k % bodies.count])
                            s.latencies.append(now() - t0)
                            if r.status == 200 { s.rows += batch } else { s.errors += 1 }
                            k += 1
                        }
                        return s
                    }
                }
            }
            var all = Slice()
            for try await r in group { all.add(r) }
            return all
        }
        slice.wallNanos = now() - start
        slice.cpuMicros = cpuMicros() - cpu0
        return slice
    }

    /// `scoreTexts` on the same batches, from `callers` threads at once, for `seconds`.
    static func inProcess(_ engine: ShapingEngine, _ requests: [TextRewardRequest], callers: Int, seconds: Double) -> Slice {
        let (start, cpu0) = (now(), cpuMicros())
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
        var s = Slice()
        s.rows = rows.load(ordering: .relaxed)
        s.wallNanos = now() - start
        s.cpuMicros = cpuMicros() - cpu0
        return s
    }

    /// User + system CPU time of this process, µs.
    static func cpuMicros() -> Int {
        #if canImport(Glibc)
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return (Int(u.ru_utime.tv_sec) + Int(u.ru_stime.tv_sec)) * 1_000_000 + Int(u.ru_utime.tv_usec) + Int(u.ru_stime.tv_usec)
        #else
        return 0
        #endif
    }

    private struct NoMetrics: HTTPFrontMetrics {
        func prometheusText() -> String { "" }
        func httpRequest(route: String, error: String?) {}
        func httpScored(rows: Int) {}
    }

    private static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
    private static func round3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }
}
