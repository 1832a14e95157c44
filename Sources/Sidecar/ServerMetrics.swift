import Synchronization
import Wire

/// Counters behind `stats` and the Prometheus text (updated by the I/O thread and the workers).
final class ServerMetrics: Sendable {
    struct State {
        var requests: [String: Int] = [:]
        var errors: [String: Int] = [:]
        var repliesOK = 0
        var rollouts = 0
        var tokens = 0
        var computeMicros = 0
        var bytesIn = 0
        var bytesOut = 0
        var latencyBuckets = [Int](repeating: 0, count: ServerMetrics.bucketBounds.count + 1)
        var latencySumMicros = 0
        var latencyCount = 0
        var applied: [AppliedVerdict.Result: Int] = [:]
        var unacknowledged = 0
    }

    static let bucketBounds: [Double] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30]
    let state = Mutex(State())
    let startNanos = monotonicNanos()

    func request(_ op: String, bytes: Int) {
        state.withLock { $0.requests[op, default: 0] += 1; $0.bytesIn += bytes }
    }

    func reply(error: WireErrorCode?, bytes: Int, latencyNanos: UInt64?) {
        state.withLock { s in
            if let e = error { s.errors[e.rawValue, default: 0] += 1 } else { s.repliesOK += 1 }
            s.bytesOut += bytes
            if let l = latencyNanos {
                let secs = Double(l) / 1e9
                let i = Self.bucketBounds.firstIndex { secs <= $0 } ?? Self.bucketBounds.count
                s.latencyBuckets[i] += 1
                s.latencySumMicros += Int(l / 1000)
                s.latencyCount += 1
            }
        }
    }

    func computed(rollouts: Int, tokens: Int, micros: Int) {
        state.withLock { $0.rollouts += rollouts; $0.tokens += tokens; $0.computeMicros += micros }
    }

    /// One `applied` report and its verdict.
    func applied(_ result: AppliedVerdict.Result) {
        state.withLock { $0.applied[result, default: 0] += 1 }
    }

    /// Shape replies whose weights no trainer acknowledged within the window.
    func unacknowledged(_ n: Int) {
        guard n > 0 else { return }
        state.withLock { $0.unacknowledged += n }
    }

    /// Integer counters for the `stats` reply.
    func counters(inFlight: Int, queueDepth: Int, workers: Int) -> [Named<Int>] {
        let s = state.withLock { $0 }
        var out: [Named<Int>] = [Named("requests_total", s.requests.values.reduce(0, +))]
        for op in WireOp.allCases { out.append(Named("requests_\(op.rawValue)", s.requests[op.rawValue, default: 0])) }
        out.append(Named("replies_ok", s.repliesOK))
        for c in WireErrorCode.allCases { out.append(Named("errors_\(c.rawValue)", s.errors[c.rawValue, default: 0])) }
        out += [Named("rollouts_total", s.rollouts), Named("tokens_total", s.tokens), Named("in_flight", inFlight),
                Named("queue_depth", queueDepth), Named("workers", workers), Named("compute_us_total", s.computeMicros),
                Named("bytes_in_total", s.bytesIn), Named("bytes_out_total", s.bytesOut)]
        for r in AppliedVerdict.Result.allCases { out.append(Named("applied_\(r.rawValue)", s.applied[r, default: 0])) }
        out += [Named("shape_unacknowledged", s.unacknowledged),
                Named("uptime_s", Int((monotonicNanos() - startNanos) / 1_000_000_000))]
        return out
    }

    /// Prometheus text exposition format.
    func prometheus(inFlight: Int, queueDepth: Int, workers: Int) -> String {
        let s = state.withLock { $0 }
        var o = ""
        func metric(_ name: String, _ type: String, _ help: String, _ lines: [(String, String)]) {
            o += "# HELP rest_shaper_\(name) \(help)\n# TYPE rest_shaper_\(name) \(type)\n"
            for (labels, v) in lines { o += "rest_shaper_\(name)\(labels) \(v)\n" }
        }
        metric("requests_total", "counter", "Requests received, by op.",
               WireOp.allCases.map { ("{op=\"\($0.rawValue)\"}", "\(s.requests[$0.rawValue, default: 0])") })
        metric("replies_ok_total", "counter", "Successful replies.", [("", "\(s.repliesOK)")])
        metric("errors_total", "counter", "Error replies, by code.",
               WireErrorCode.allCases.map { ("{code=\"\($0.rawValue)\"}", "\(s.errors[$0.rawValue, default: 0])") })
        metric("rollouts_total", "counter", "Rollouts shaped.", [("", "\(s.rollouts)")])
        metric("tokens_total", "counter", "Tokens (B·T) shaped.", [("", "\(s.tokens)")])
        metric("compute_seconds_total", "counter", "Time spent in the shaping core.", [("", "\(Double(s.computeMicros) / 1e6)")])
        metric("received_bytes_total", "counter", "Request bytes received.", [("", "\(s.bytesIn)")])
        metric("sent_bytes_total", "counter", "Reply bytes sent.", [("", "\(s.bytesOut)")])
        metric("applied_total", "counter", "Trainer reports of applied weights, by verdict.",
               AppliedVerdict.Result.allCases.map { ("{result=\"\($0.rawValue)\"}", "\(s.applied[$0, default: 0])") })
        metric("shape_unacknowledged_total", "counter", "Shape replies no trainer reported applying within the acknowledgement window.",
               [("", "\(s.unacknowledged)")])
        metric("in_flight", "gauge", "Shape requests queued or running.", [("", "\(inFlight)")])
        metric("queue_depth", "gauge", "Shape requests waiting for a worker.", [("", "\(queueDepth)")])
        metric("workers", "gauge", "Worker threads.", [("", "\(workers)")])
        metric("uptime_seconds", "gauge", "Seconds since start.", [("", "\(Double(monotonicNanos() - startNanos) / 1e9)")])
        var lines: [(String, String)] = []
        var cumulative = 0
        for (i, b) in Self.bucketBounds.enumerated() {
            cumulative += s.latencyBuckets[i]
            lines.append(("_bucket{le=\"\(b)\"}", "\(cumulative)"))
        }
        cumulative += s.latencyBuckets[Self.bucketBounds.count]
        lines.append(("_bucket{le=\"+Inf\"}", "\(cumulative)"))
        lines.append(("_sum", "\(Double(s.latencySumMicros) / 1e6)"))
        lines.append(("_count", "\(s.latencyCount)"))
        metric("request_duration_seconds", "histogram", "Shape request latency, receipt to reply.", lines)
        return o
    }
}
