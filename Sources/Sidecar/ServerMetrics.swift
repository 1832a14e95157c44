import Pipeline
import Prometheus
import Synchronization
import Wire

/// The server's counters, behind the `stats` reply (integers, PROTOCOL.md "Stats counters"), its
/// `metrics` (the last batches' per-region means) and the Prometheus text (`stats.prometheus`,
/// `--metrics-file`). Updated by the I/O thread and the workers; every method is thread-safe.
///
/// Prometheus comes from swift-prometheus: a `PrometheusCollectorRegistry` owned by this
/// instance, not swift-metrics' process-global `MetricsSystem.bootstrap`, so several servers in
/// one process (the tests) stay independent; collectors are made with their HELP text (the
/// swift-metrics factory path drops it). swift-prometheus collectors cannot be read back, so
/// each integer of `stats` is a ``Tally``: an atomic beside its collector, both updated by one call.
///
/// Adding a counter: one ``Tally`` property, one line in ``tallies`` (its place in `stats`), one
/// small method that calls `add`. Call sites stay `metrics.something(…)`.
public final class ServerMetrics: Sendable {
    /// One integer counter: `stats[statsName]`, and (unless stats-only) a Prometheus counter.
    public final class Tally: Sendable {
        public let statsName: String
        private let value = Atomic<Int>(0)
        private let collector: Counter?

        init(_ statsName: String, _ collector: Counter?) {
            self.statsName = statsName; self.collector = collector
        }

        /// Adds `n` (negative amounts are ignored: counters only grow).
        func add(_ n: Int = 1) {
            guard n > 0 else { return }
            value.wrappingAdd(n, ordering: .relaxed)
            collector?.increment(by: Int64(n))
        }

        var current: Int { value.load(ordering: .relaxed) }
    }

    /// Histogram bounds (seconds) of the Prometheus latency and compute-time histograms.
    public static let bucketBounds: [Double] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30]
    /// Shape requests whose compute time and latency the quantiles (`compute_us_p50`, …) cover.
    public static let quantileWindow = 1024
    /// Shape batches the stats reply's `metrics` aggregate.
    public static let batchWindow = 32
    /// Seconds of the long rate window (`…_last_60s`).
    public static let rateWindowSeconds = 60

    /// The Prometheus registry of this server alone.
    public let registry = PrometheusCollectorRegistry()
    let clock: @Sendable () -> UInt64
    let startNanos: UInt64

    let requestsTotal: Tally
    let requestsByOp: [(WireOp, Tally)]
    let repliesOK: Tally
    let errorsByCode: [(WireErrorCode, Tally)]
    let rollouts: Tally
    let tokens: Tally
    let computeMicros: Tally
    let bytesIn: Tally
    let bytesOut: Tally
    let appliedByResult: [(AppliedVerdict.Result, Tally)]
    let unacknowledgedReplies: Tally
    let workerCrashes: Tally
    let workerRestarts: Tally
    let workerKills: Tally
    let cancelledJobs: Tally
    let captureDrops: Tally
    let authRefusals: Tally
    let httpRequestsTotal: Tally
    let httpRequestsByRoute: [(String, Tally)]
    let httpErrorsTotal: Tally
    let httpErrorsByCode: [(String, Tally)]
    let httpRows: Tally
    private let computeSeconds: Counter
    private let latency: DurationHistogram
    private let computeTime: DurationHistogram
    private let gauges: (inFlight: Gauge, queueDepth: Gauge, workers: Gauge, uptime: Gauge)
    private let recent: Mutex<RecentActivity>

    /// Counters on the monotonic clock.
    public convenience init() { self.init(clock: { monotonicNanos() }) }

    /// - Parameter clock: monotonic nanoseconds (tests pass a fake one to step through the rate windows).
    public init(clock: @escaping @Sendable () -> UInt64) {
        self.clock = clock
        startNanos = clock()
        let r = registry
        func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "rest_shaper", metricName: metric, unitName: unit, helpText: help)
        }
        let requests = name("requests", "total", "Requests received, by op.")
        let errors = name("errors", "total", "Error replies, by code.")
        requestsTotal = Tally("requests_total", nil)
        requestsByOp = WireOp.allCases.map { ($0, Tally("requests_\($0.rawValue)", r.makeCounter(descriptor: requests, labels: [("op", $0.rawValue)]))) }
        repliesOK = Tally("replies_ok", r.makeCounter(descriptor: name("replies_ok", "total", "Successful replies.")))
        errorsByCode = WireErrorCode.allCases.map { ($0, Tally("errors_\($0.rawValue)", r.makeCounter(descriptor: errors, labels: [("code", $0.rawValue)]))) }
        rollouts = Tally("rollouts_total", r.makeCounter(descriptor: name("rollouts", "total", "Rollouts shaped.")))
        tokens = Tally("tokens_total", r.makeCounter(descriptor: name("tokens", "total", "Tokens (B·T) shaped.")))
        computeMicros = Tally("compute_us_total", nil)
        computeSeconds = r.makeCounter(descriptor: name("compute_seconds", "total", "Time spent in the shaping core."))
        bytesIn = Tally("bytes_in_total", r.makeCounter(descriptor: name("received_bytes", "total", "Request bytes received.")))
        bytesOut = Tally("bytes_out_total", r.makeCounter(descriptor: name("sent_bytes", "total", "Reply bytes sent.")))
        let applied = name("applied", "total", "Trainer reports of applied weights, by verdict.")
        appliedByResult = AppliedVerdict.Result.allCases.map { ($0, Tally("applied_\($0.rawValue)", r.makeCounter(descriptor: applied, labels: [("result", $0.rawValue)]))) }
        unacknowledgedReplies = Tally("shape_unacknowledged", r.makeCounter(descriptor: name("shape_unacknowledged", "total",
            "Shape replies no trainer reported applying within the acknowledgement window.")))
        let httpRequests = name("http_requests", "total", "HTTP front requests answered, by route.")
        let httpErrors = name("http_errors", "total", "HTTP front error replies, by code.")
        httpRequestsTotal = Tally("http_requests_total", nil)
        httpRequestsByRoute = Self.httpRoutes.map { ($0, Tally("", r.makeCounter(descriptor: httpRequests, labels: [("route", $0)]))) }
        httpErrorsTotal = Tally("http_errors_total", nil)
        httpErrorsByCode = Self.httpErrorCodes.map { ($0, Tally("", r.makeCounter(descriptor: httpErrors, labels: [("code", $0)]))) }
        httpRows = Tally("http_rows_total", r.makeCounter(descriptor: name("http_rows", "total", "Texts scored by the HTTP front.")))
        workerCrashes = Tally("worker_crashes", r.makeCounter(descriptor: name("worker_crashes", "total",
            "Worker processes that died while serving (their request was answered 'internal').")))
        workerRestarts = Tally("worker_restarts", r.makeCounter(descriptor: name("worker_restarts", "total", "Worker processes started again after one ended.")))
        workerKills = Tally("worker_kills", r.makeCounter(descriptor: name("worker_kills", "total",
            "Worker processes killed because a timed-out request did not stop within the grace period.")))
        cancelledJobs = Tally("cancelled", r.makeCounter(descriptor: name("cancelled", "total", "Shape requests cancelled at their timeout.")))
        captureDrops = Tally("capture_dropped", r.makeCounter(descriptor: name("capture_dropped", "total",
            "Capture records dropped because the capture queue was full.")))
        authRefusals = Tally("auth_refused", r.makeCounter(descriptor: name("auth_refused", "total",
            "CURVE handshakes refused: the client's key is not on the allow-list.")))
        let buckets = Self.bucketBounds.map { Duration.nanoseconds(Int64($0 * 1e9)) }
        latency = r.makeDurationHistogram(descriptor: name("request_duration", "seconds", "Shape request latency, receipt to reply."), buckets: buckets)
        computeTime = r.makeDurationHistogram(descriptor: name("compute_duration", "seconds", "Shaping core time per shape request."), buckets: buckets)
        gauges = (r.makeGauge(descriptor: name("in_flight", "", "Shape requests queued or running.")),
                  r.makeGauge(descriptor: name("queue_depth", "", "Shape requests waiting for a worker.")),
                  r.makeGauge(descriptor: name("workers", "", "Worker threads.")),
                  r.makeGauge(descriptor: name("uptime", "seconds", "Seconds since start.")))
        recent = Mutex(RecentActivity(startNanos: startNanos))
    }

    // MARK: events

    /// A request arrived (`op` as read from the header, `unknown` when unreadable).
    public func request(_ op: String, bytes: Int) {
        requestsTotal.add()
        if let t = requestsByOp.first(where: { $0.0.rawValue == op })?.1 { t.add() }
        bytesIn.add(bytes)
        if op == WireOp.shape.rawValue { let now = clock(); recent.withLock { $0.shapeRequest(at: now) } }
    }

    /// A reply left (`latencyNanos`: receipt to reply, for shape requests).
    public func reply(error: WireErrorCode?, bytes: Int, latencyNanos: UInt64?) {
        if let e = error { errorsByCode.first { $0.0 == e }?.1.add() } else { repliesOK.add() }
        bytesOut.add(bytes)
        if let l = latencyNanos {
            latency.record(.nanoseconds(Int64(clamping: l)))
            recent.withLock { $0.latencies.append(Int(clamping: l / 1000)) }
        }
    }

    /// The shaping core finished a batch in `micros`; `batch` is its per-region metrics.
    public func computed(rollouts n: Int, tokens t: Int, micros: Int, batch: BatchMetrics? = nil) {
        rollouts.add(n); tokens.add(t); computeMicros.add(micros)
        computeSeconds.increment(by: Double(max(micros, 0)) / 1e6)
        computeTime.record(.microseconds(max(micros, 0)))
        let now = clock()
        recent.withLock { r in
            r.tokens(t, at: now)
            r.computes.append(max(micros, 0))
            if let batch { r.batches.append(batch) }
        }
    }

    /// One `applied` report and its verdict.
    public func applied(_ result: AppliedVerdict.Result) {
        appliedByResult.first { $0.0 == result }?.1.add()
    }

    /// Shape replies whose weights no trainer acknowledged within the window.
    public func unacknowledged(_ n: Int) { unacknowledgedReplies.add(n) }

    /// A worker process died while serving.
    public func workerCrashed() { workerCrashes.add() }
    /// A worker process was started again.
    public func workerRestarted() { workerRestarts.add() }
    /// A worker process was killed for overrunning a timed-out request.
    public func workerKilled() { workerKills.add() }
    /// A shape request was cancelled at its timeout.
    public func cancelled() { cancelledJobs.add() }
    /// A capture record was dropped (queue full).
    public func captureDropped() { captureDrops.add() }
    /// A CURVE client was refused by the allow-list.
    public func authRefused() { authRefusals.add() }

    /// Routes of the HTTP front, as its requests are counted (`other`: no such route).
    public static let httpRoutes = ["openrlhf", "slime", "healthz", "metrics", "other"]
    /// Error codes of the HTTP front: the wire codes and HTTP's own.
    public static let httpErrorCodes = WireErrorCode.allCases.map(\.rawValue) + ["unauthorized", "not_found"]

    /// One HTTP front request answered on `route`, with `error` (a code) unless it succeeded.
    public func http(route: String, error: String?) {
        httpRequestsTotal.add()
        (httpRequestsByRoute.first { $0.0 == route } ?? httpRequestsByRoute[httpRequestsByRoute.count - 1]).1.add()
        guard let error else { return }
        httpErrorsTotal.add()
        httpErrorsByCode.first { $0.0 == error }?.1.add()
    }

    /// Texts the HTTP front scored.
    public func httpScored(rows: Int) { httpRows.add(rows) }

    // MARK: views

    /// Every integer counter of `stats`, in the order PROTOCOL.md lists them.
    var tallies: [Tally] {
        [requestsTotal] + requestsByOp.map(\.1) + [repliesOK] + errorsByCode.map(\.1) + [rollouts, tokens]
            + appliedByResult.map(\.1) + [unacknowledgedReplies, httpRequestsTotal, httpErrorsTotal, httpRows]
            + [cancelledJobs, workerCrashes, workerRestarts, workerKills, captureDrops, authRefusals]
    }

    /// Integer counters for the `stats` reply.
    public func counters(inFlight: Int, queueDepth: Int, workers: Int, inflightBytes: Int = 0) -> [Named<Int>] {
        let now = clock()
        var out = tallies.map { Named($0.statsName, $0.current) }
        out += [Named("in_flight", inFlight), Named("inflight_bytes", inflightBytes), Named("queue_depth", queueDepth), Named("workers", workers),
                Named("compute_us_total", computeMicros.current), Named("bytes_in_total", bytesIn.current),
                Named("bytes_out_total", bytesOut.current), Named("uptime_s", Int((now - startNanos) / 1_000_000_000))]
        out += recent.withLock { $0.counters(now: now) }
        return out
    }

    /// The stats reply's `metrics`: the last ``batchWindow`` shape batches aggregated (token counts
    /// summed, means weighted by tokens, γ's and the curriculum's progress of the newest); nil
    /// before the first batch.
    public func recentBatches() -> WireMetrics? {
        recent.withLock { $0.aggregate() }.map(WireMetrics.init)
    }

    /// Prometheus text exposition format.
    public func prometheus(inFlight: Int, queueDepth: Int, workers: Int) -> String {
        gauges.inFlight.set(Int64(inFlight))
        gauges.queueDepth.set(Int64(queueDepth))
        gauges.workers.set(Int64(workers))
        gauges.uptime.set(Double(clock() - startNanos) / 1e9)
        return registry.emitToString()
    }
}

/// A fixed-capacity ring: the last `capacity` values appended.
struct Ring<Element> {
    private(set) var items: [Element] = []
    private var next = 0
    let capacity: Int

    init(capacity: Int) { self.capacity = max(1, capacity) }

    mutating func append(_ e: Element) {
        if items.count < capacity { items.append(e) } else { items[next] = e }
        next = (next + 1) % capacity
    }

    /// Oldest first.
    var ordered: [Element] { items.count < capacity ? items : Array(items[next...] + items[..<next]) }
}

/// What `stats` says about the recent past: per-second counts for the rates, the last compute
/// times and latencies for the quantiles, the last batches' metrics.
struct RecentActivity {
    /// Counts of one whole second since the server started.
    struct Second { var index: Int; var shapeRequests = 0; var tokens = 0 }

    let startNanos: UInt64
    /// The last whole seconds with activity, oldest first (at most the window and the current one).
    var seconds: [Second] = []
    var computes = Ring<Int>(capacity: ServerMetrics.quantileWindow)
    var latencies = Ring<Int>(capacity: ServerMetrics.quantileWindow)
    var batches = Ring<BatchMetrics>(capacity: ServerMetrics.batchWindow)

    init(startNanos: UInt64) { self.startNanos = startNanos }

    func secondIndex(_ now: UInt64) -> Int { Int((now &- startNanos) / 1_000_000_000) }

    /// Adds to the slot of the second `now` falls in (a new slot when the second is new; a clock
    /// read that lost the race to the lock by more than the window is dropped).
    private mutating func slot(_ now: UInt64, _ f: (inout Second) -> Void) {
        let i = secondIndex(now)
        if let k = seconds.lastIndex(where: { $0.index == i }) {
            f(&seconds[k])
        } else if seconds.last.map({ $0.index < i }) ?? true {
            var s = Second(index: i)
            f(&s)
            seconds.append(s)
            if seconds.count > ServerMetrics.rateWindowSeconds + 1 { seconds.removeFirst(seconds.count - ServerMetrics.rateWindowSeconds - 1) }
        }
    }

    mutating func shapeRequest(at now: UInt64) { slot(now) { $0.shapeRequests += 1 } }
    mutating func tokens(_ n: Int, at now: UInt64) { slot(now) { $0.tokens += n } }

    /// `shape_requests_last_1s`, `…_last_60s`, `tokens_last_1s`, `…_last_60s` over whole seconds
    /// before the current one, `rate_window_s` (seconds the long window covers so far), the
    /// quantiles and `metrics_batches`.
    func counters(now: UInt64) -> [Named<Int>] {
        let current = secondIndex(now)
        let long = ServerMetrics.rateWindowSeconds
        let done = seconds.filter { $0.index < current }
        let last = done.filter { $0.index == current - 1 }
        let window = done.filter { $0.index >= current - long }
        func p(_ ring: Ring<Int>, _ q: Double) -> Int { Self.quantile(ring.items, q) }
        return [
            Named("shape_requests_last_1s", last.reduce(0) { $0 + $1.shapeRequests }),
            Named("shape_requests_last_60s", window.reduce(0) { $0 + $1.shapeRequests }),
            Named("tokens_last_1s", last.reduce(0) { $0 + $1.tokens }),
            Named("tokens_last_60s", window.reduce(0) { $0 + $1.tokens }),
            Named("rate_window_s", min(current, long)),
            Named("compute_us_p50", p(computes, 0.5)), Named("compute_us_p99", p(computes, 0.99)),
            Named("latency_us_p50", p(latencies, 0.5)), Named("latency_us_p99", p(latencies, 0.99)),
            Named("quantile_samples", computes.items.count),
            Named("metrics_batches", batches.items.count),
        ]
    }

    /// Nearest-rank quantile (the ⌈q·n⌉-th smallest); 0 for no values.
    static func quantile(_ values: [Int], _ q: Double) -> Int {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = Int((q * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    /// The last batches as one: token counts summed, weight and entropy means weighted by tokens
    /// (entropy over the batches that had entropies), reward mean over batches, γ's and progress
    /// of the newest batch.
    func aggregate() -> BatchMetrics? {
        let all = batches.ordered
        guard let newest = all.last else { return nil }
        var counts: [String: Int] = [:], wSum: [String: Double] = [:], wN: [String: Int] = [:]
        var eSum: [String: Double] = [:], eN: [String: Int] = [:]
        var reward = 0.0
        for b in all {
            reward += b.rewardMean
            for (region, n) in b.tokenCounts {
                counts[region, default: 0] += n
                if let w = b.weightMeans[region], w.isFinite { wSum[region, default: 0] += w * Double(n); wN[region, default: 0] += n }
                if let e = b.entropyMeans[region], e.isFinite { eSum[region, default: 0] += e * Double(n); eN[region, default: 0] += n }
            }
        }
        func means(_ sum: [String: Double], _ n: [String: Int]) -> [String: Double] {
            Dictionary(uniqueKeysWithValues: sum.compactMap { k, v in n[k].flatMap { $0 > 0 ? (k, v / Double($0)) : nil } })
        }
        return BatchMetrics(tokenCounts: counts, entropyMeans: means(eSum, eN), weightMeans: means(wSum, wN),
                            rewardMean: reward / Double(all.count), gammas: newest.gammas, entropyProgress: newest.entropyProgress)
    }
}
