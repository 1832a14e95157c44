import Pipeline
import Sidecar
import Synchronization
import Testing
import Wire

/// Monotonic nanoseconds the test sets by hand.
final class FakeNanos: Sendable {
    let now = Atomic<UInt64>(1_000_000_000_000)
    func advance(seconds: Double) { now.add(UInt64(seconds * 1e9), ordering: .relaxed) }
    var read: @Sendable () -> UInt64 { { [self] in now.load(ordering: .relaxed) } }
}

@Suite struct MetricsTests {
    func dict(_ m: ServerMetrics) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: m.counters(inFlight: 0, queueDepth: 0, workers: 1).map { ($0.name, $0.value) })
    }

    @Test func rateWindowsCountWholeSeconds() {
        let clock = FakeNanos()
        let m = ServerMetrics(clock: clock.read)
        clock.advance(seconds: 0.5)
        for _ in 0..<3 { m.request("shape", bytes: 10) }
        m.computed(rollouts: 3, tokens: 300, micros: 10)
        clock.advance(seconds: 1.0)  // second 1
        for _ in 0..<2 { m.request("shape", bytes: 10) }
        m.request("stats", bytes: 10)  // not a shape request: not in the rates
        m.computed(rollouts: 2, tokens: 200, micros: 10)
        var c = dict(m)
        #expect(c["shape_requests_last_1s"] == 3 && c["tokens_last_1s"] == 300)  // second 0 is the last whole one
        #expect(c["rate_window_s"] == 1)
        clock.advance(seconds: 0.7)  // second 2
        c = dict(m)
        #expect(c["shape_requests_last_1s"] == 2 && c["tokens_last_1s"] == 200)
        #expect(c["shape_requests_last_60s"] == 5 && c["tokens_last_60s"] == 500 && c["rate_window_s"] == 2)
        #expect(c["requests_total"] == 6 && c["requests_shape"] == 5 && c["requests_stats"] == 1 && c["bytes_in_total"] == 60)
        clock.advance(seconds: 59.5)  // second 61: second 0 has left the minute
        c = dict(m)
        #expect(c["shape_requests_last_1s"] == 0 && c["shape_requests_last_60s"] == 2 && c["rate_window_s"] == 60)
        clock.advance(seconds: 5)
        #expect(dict(m)["shape_requests_last_60s"] == 0)
    }

    @Test func quantilesOfTheLastComputeTimesAndLatencies() {
        let m = ServerMetrics()
        var c = dict(m)
        #expect(c["compute_us_p50"] == 0 && c["quantile_samples"] == 0)
        for us in (1...100).reversed() {
            m.computed(rollouts: 1, tokens: 1, micros: us)
            m.reply(error: nil, bytes: 1, latencyNanos: UInt64(us) * 2000)
        }
        c = dict(m)
        #expect(c["compute_us_p50"] == 50 && c["compute_us_p99"] == 99 && c["quantile_samples"] == 100)
        #expect(c["latency_us_p50"] == 100 && c["latency_us_p99"] == 198)
        #expect(c["compute_us_total"] == 5050 && c["replies_ok"] == 100)
        // Only the last 1024 count: 2000 slow ones push every fast one out.
        for _ in 0..<2000 { m.computed(rollouts: 1, tokens: 1, micros: 7000) }
        c = dict(m)
        #expect(c["compute_us_p50"] == 7000 && c["quantile_samples"] == ServerMetrics.quantileWindow)
    }

    @Test func recentBatchesAggregateByTokens() {
        let m = ServerMetrics()
        #expect(m.recentBatches() == nil && dict(m)["metrics_batches"] == 0)
        m.computed(rollouts: 1, tokens: 10, micros: 1, batch: BatchMetrics(
            tokenCounts: ["think": 10, "tool_name": 2], entropyMeans: ["think": 2.0], weightMeans: ["think": 1.0, "tool_name": 3.0],
            rewardMean: 1, gammas: ["think": 0.6], entropyProgress: 0))
        m.computed(rollouts: 1, tokens: 30, micros: 1, batch: BatchMetrics(
            tokenCounts: ["think": 30], weightMeans: ["think": 2.0], rewardMean: 3, gammas: ["think": 0.8], entropyProgress: 0.5))
        let w = m.recentBatches()
        #expect(w?.tokenCounts == [Named("think", 40), Named("tool_name", 2)])
        #expect(w?.weightMeans == [Named("think", 1.75), Named("tool_name", 3.0)])
        #expect(w?.entropyMeans == [Named("think", 2.0)])  // only the batch that had entropies
        #expect(w?.rewardMean == 2 && w?.gammas == [Named("think", 0.8)] && w?.entropyProgress == 0.5)
        #expect(dict(m)["metrics_batches"] == 2)
        for _ in 0..<40 { m.computed(rollouts: 1, tokens: 1, micros: 1, batch: BatchMetrics(tokenCounts: ["response": 1], rewardMean: 0)) }
        #expect(m.recentBatches()?.tokenCounts == [Named("response", ServerMetrics.batchWindow)])
    }

    @Test func prometheusTextFromEachServersOwnRegistry() {
        let a = ServerMetrics(), b = ServerMetrics()
        a.request("shape", bytes: 100)
        a.reply(error: .busy, bytes: 50, latencyNanos: 2_000_000)
        a.computed(rollouts: 4, tokens: 400, micros: 1500)
        let text = a.prometheus(inFlight: 3, queueDepth: 1, workers: 2)
        for line in ["# HELP rest_shaper_requests_total Requests received, by op.", "# TYPE rest_shaper_requests_total counter",
                     #"rest_shaper_requests_total{op="shape"} 1"#, #"rest_shaper_errors_total{code="busy"} 1"#,
                     "rest_shaper_rollouts_total 4", "rest_shaper_tokens_total 400", "rest_shaper_received_bytes_total 100",
                     "rest_shaper_sent_bytes_total 50", "rest_shaper_in_flight 3.0", "rest_shaper_queue_depth 1.0", "rest_shaper_workers 2.0",
                     "rest_shaper_compute_seconds_total 0.0015", "# TYPE rest_shaper_request_duration_seconds histogram",
                     #"rest_shaper_request_duration_seconds_bucket{le="0.005"} 1"#, "rest_shaper_request_duration_seconds_count 1",
                     #"rest_shaper_compute_duration_seconds_bucket{le="0.001"} 0"#, "rest_shaper_compute_duration_seconds_count 1"] {
            #expect(text.contains(line + "\n"), "missing: \(line)")
        }
        let other = b.prometheus(inFlight: 0, queueDepth: 0, workers: 1)
        #expect(other.contains(#"rest_shaper_requests_total{op="shape"} 0"#))  // independent registries
    }
}

extension ServerTests {
    @Test func statsReplyCarriesRatesQuantilesAndTheLastBatches() throws {
        try withServer { _, ep in
            let c = try SidecarClient(endpoint: ep)
            func stats(_ id: Int) throws -> ReplyHeader {
                let r = try c.request([Array(#"{"v":1,"op":"stats","id":\#(id)}"#.utf8)])
                return try r[0].withUnsafeBytes { try ReplyHeader.decode($0, frameCount: 1) }
            }
            let before = try stats(1)
            #expect(before.metrics == nil)
            for i in 0..<5 {
                let reply = try decodeReply(try c.request(shapeFrames(id: 10 + i, ids: [1, 2, 3, 4], mask: [1, 1, 1, 1], batch: 2, gts: ["ab", "abcd"])))
                #expect(reply.header.isOK)
            }
            let after = try stats(2)
            let counters = Dictionary(uniqueKeysWithValues: (after.stats ?? []).map { ($0.name, $0.value) })
            #expect(counters["requests_shape"] == 5 && counters["rollouts_total"] == 10 && counters["tokens_total"] == 20)
            #expect(counters["quantile_samples"] == 5 && counters["metrics_batches"] == 5)
            #expect((counters["compute_us_p99"] ?? -1) >= (counters["compute_us_p50"] ?? 0))
            #expect((counters["latency_us_p50"] ?? 0) > 0)
            #expect(counters["shape_requests_last_60s"] != nil && counters["rate_window_s"] != nil)
            #expect(after.metrics?.tokenCounts == [Named("think", 5)] && after.metrics?.rewardMean == 3)
            // The existing counters keep their names and order; the new ones follow.
            let names = (after.stats ?? []).map(\.name)
            #expect(Array(names.prefix(4)) == ["requests_total", "requests_ping", "requests_shape", "requests_stats"])
            #expect(names.firstIndex(of: "uptime_s")! < names.firstIndex(of: "shape_requests_last_1s")!)
        }
    }
}
