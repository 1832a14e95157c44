import Dispatch
import Foundation
import HTTPFront
import Synchronization
import PyJSON
import Testing

/// Bind policy, bounded concurrency, concurrent load and the graceful drain.
@Suite("HTTP front lifecycle") struct LifecycleTests {
    @Test func addressesAndBindPolicy() throws {
        for (text, host, port) in [("8000", "127.0.0.1", 8000), ("0.0.0.0:81", "0.0.0.0", 81), ("[::1]:9000", "::1", 9000)] {
            let a = try HTTPFrontConfig.parseAddress(text)
            #expect(a.host == host && a.port == port, "\(text)")
        }
        for bad in ["::1:9000", "host:", "70000", "", "[::1]9000", "a:b"] {
            #expect(throws: HTTPFrontSetupError.self, "\(bad)") { try HTTPFrontConfig.parseAddress(bad) }
        }
        #expect(HTTPFrontConfig.isLoopback("127.0.0.1") && HTTPFrontConfig.isLoopback("127.3.2.1"))
        #expect(HTTPFrontConfig.isLoopback("localhost") && HTTPFrontConfig.isLoopback("::1"))
        #expect(!HTTPFrontConfig.isLoopback("0.0.0.0") && !HTTPFrontConfig.isLoopback("10.0.0.1") && !HTTPFrontConfig.isLoopback("127.0.0.256"))

        var open = HTTPFrontConfig(host: "0.0.0.0", port: 0)
        #expect(throws: HTTPFrontSetupError.self) { try open.validate() }
        open.token = "t"
        try open.validate()
        open.token = nil
        open.insecure = true
        try open.validate()
        open.token = ""
        #expect(throws: HTTPFrontSetupError.self) { try open.validate() }
    }

    /// 64 concurrent keep-alive clients × 200 requests each (batches of 1–4 rows): every request
    /// answered 200 with its own rows' rewards; nothing lost.
    @Test func sixtyFourConcurrentClients() async throws {
        let doc = try FrontHarness.vectors()
        let cases = try #require(doc["cases"]?.arrayValue)
        let rows: [(String, String, Double)] = cases.compactMap { c in
            guard let s = c["solution_str"]?.stringValue, let g = c["ground_truth"]?.stringValue,
                  let want = c["rewards"]?["default"]?["score"]?.doubleValue else { return nil }
            return (s, g, want)
        }
        #expect(rows.count == cases.count)
        let (clients, perClient) = (64, 200)
        let results = try await FrontHarness.withFront(HTTPFrontConfig(port: 0, queueCapacity: 1024)) { _, port in
            try await withThrowingTaskGroup(of: (ok: Int, bad: [String]).self) { group in
                for client in 0..<clients {
                    group.addTask {
                        try await HTTPFrontClient.withConnection(host: "127.0.0.1", port: port) { conn in
                            var ok = 0
                            var bad: [String] = []
                            for k in 0..<perClient {
                                let picked = (0..<(1 + (client + k) % 4)).map { rows[(client * 7 + k * 3 + $0) % rows.count] }
                                let body: JSONValue = ["query": .array(picked.map { .string($0.0) }), "labels": .array(picked.map { .string($0.1) })]
                                let r = try await conn.post("/openrlhf/get_reward?step=0", json: PyJSON.dumps(body))
                                let got = (try? PyJSON.loads(r.body))?["rewards"]?.arrayValue?.compactMap(\.doubleValue) ?? []
                                if r.status == 200 && got == picked.map(\.2) { ok += 1 } else { bad.append("\(r.status) \(r.text.prefix(200))") }
                            }
                            return (ok, bad)
                        }
                    }
                }
                var total = (ok: 0, bad: [String]())
                for try await r in group { total.ok += r.ok; total.bad += r.bad }
                return total
            }
        }
        #expect(results.bad.isEmpty, "\(results.bad.count) failed, first: \(results.bad.first ?? "")")
        #expect(results.ok == clients * perClient)
    }

    /// The gate: `slots` run, up to `capacity` wait in order, one more is refused `busy` at once.
    @Test func admissionGateRunsQueuesAndRefuses() async throws {
        let gate = AdmissionGate(slots: 1, capacity: 2)
        gate.start()
        defer { gate.close() }
        let release = DispatchSemaphore(value: 0)
        let order = OrderLog()
        async let a: Int = gate.run { release.wait(); order.append(1); return 1 }
        try await waitUntil { gate.admitted == 1 }
        async let b: Int = gate.run { order.append(2); return 2 }
        try await waitUntil { gate.admitted == 2 }
        do {
            _ = try await gate.run(inline: true) { 3 }  // inline work is admitted like any other
            Issue.record("a third request was admitted past the capacity")
        } catch let e as HTTPFrontError {
            #expect(e.code == "busy" && e.status == .serviceUnavailable)
        }
        #expect(order.values.isEmpty, "the second ran before the slot was free")
        release.signal()
        #expect(try await a == 1)
        #expect(try await b == 2)
        #expect(order.values == [1, 2])
        try await waitUntil { gate.admitted == 0 }
        #expect(try await gate.run(inline: true) { 4 } == 4)
    }

    /// Beyond --http-queue a request is answered `busy` (503) while the slot is taken.
    /// The one worker is held by a blocking job, so the slow request stays admitted (queued
    /// behind it) for as long as the test needs: no race with how fast scoring is.
    @Test func busyWhenTheGateIsFull() async throws {
        let slow = SlowBatch.body(rows: 16)
        try await FrontHarness.withFront(HTTPFrontConfig(port: 0, workers: 1, queueCapacity: 2)) { front, port in
            let release = DispatchSemaphore(value: 0)
            let holder = Task { try await front.gate.run { release.wait() } }
            try await waitUntil { front.requestsAdmitted == 1 }
            async let first = FrontHarness.post(port, "/openrlhf/get_reward", json: slow)
            try await waitUntil { front.requestsAdmitted == 2 }
            let second = try await FrontHarness.post(port, "/openrlhf/get_reward", json: "{\"query\": [\"x\"], \"labels\": [\"y\"]}")
            #expect(front.requestsAdmitted == 2, "the gate was still full when the second request was answered")
            #expect(second.status == 503)
            #expect(try FrontHarness.parse(second)["error"]?["code"]?.stringValue == "busy")
            release.signal()
            try await holder.value
            #expect(try await first.status == 200)
            let third = try await FrontHarness.post(port, "/openrlhf/get_reward", json: "{\"query\": [\"x\"], \"labels\": [\"y\"]}")
            #expect(third.status == 200)
        }
    }

    /// shutdown() while a request is admitted and not yet answered: it is answered, then run()
    /// returns and the port closes. The one worker is held by a blocking job until the drain has
    /// begun, so the request is certainly in flight then, however fast scoring is.
    @Test func drainAnswersTheRequestInFlight() async throws {
        let slow = SlowBatch.body(rows: 16)
        let front = try HTTPFront(config: HTTPFrontConfig(port: 0, workers: 1), engine: try FrontHarness.engine(), metrics: FixedMetrics())
        let (ports, sink) = AsyncStream.makeStream(of: Int.self)
        let server = Task { defer { sink.finish() }; try await front.run(onListening: { sink.yield($0) }) }
        var it = ports.makeAsyncIterator()
        let port = try #require(await it.next())
        let release = DispatchSemaphore(value: 0)
        let holder = Task { try await front.gate.run { release.wait() } }
        try await waitUntil { front.requestsAdmitted == 1 }
        async let reply = FrontHarness.post(port, "/openrlhf/get_reward", json: slow)
        try await waitUntil { front.requestsAdmitted == 2 }
        #expect(front.requestsInFlight == 1)
        front.shutdown()
        #expect(front.isDraining)
        #expect(front.requestsAdmitted == 2, "the request was still waiting to be scored when the drain began")
        release.signal()
        try await holder.value
        let r = try await reply
        #expect(r.status == 200)
        #expect(try FrontHarness.parse(r)["rewards"]?.arrayValue?.count == 16)
        try await server.value
        await #expect(throws: (any Error).self) { try await FrontHarness.get(port, "/healthz") }
    }
}

/// A small body that takes seconds to score: every row's 400 calls share one name, so the reward
/// compares each ground-truth call with every predicted one (≈ 0.15 s a row on one core).
enum SlowBatch {
    static func body(rows: Int) -> String {
        func calls(_ shift: Int) -> String {
            (0..<400).map { "{\"name\": \"f\", \"parameters\": {\"a\": \($0 + shift), \"b\": \($0)}}" }.joined(separator: "\n")
        }
        let query = "<|im_start|>assistant\n<think>p</think>\n<tool_call>\n" + calls(0) + "\n</tool_call><|im_end|>"
        let label = "<think>p</think>\n<tool_call>\n" + calls(1) + "\n</tool_call>"
        let body: JSONValue = ["query": .array(Array(repeating: .string(query), count: rows)),
                               "labels": .array(Array(repeating: .string(label), count: rows))]
        return PyJSON.dumps(body)
    }
}

/// The order in which gated work ran.
final class OrderLog: Sendable {
    private let log = Mutex<[Int]>([])
    func append(_ v: Int) { log.withLock { $0.append(v) } }
    var values: [Int] { log.withLock { $0 } }
}

/// Polls `condition` every 2 ms for up to 60 s.
func waitUntil(_ condition: () -> Bool) async throws {
    for _ in 0..<30_000 {
        if condition() { return }
        try await Task.sleep(nanoseconds: 2_000_000)
    }
    Issue.record("condition not reached within 60 s")
}
