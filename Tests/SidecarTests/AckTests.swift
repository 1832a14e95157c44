import Foundation
import Logging
import Pipeline
import Sidecar
import Synchronization
import Testing
import Wire

/// Collects log messages (with their metadata) so a test can check what the server warned about.
final class LogCollector: @unchecked Sendable {
    let lines = Mutex<[String]>([])
    var logger: Logger {
        Logger(label: "rest-shaper.sidecar") { _ in Handler(sink: self) }
    }
    struct Handler: LogHandler {
        let sink: LogCollector
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let meta = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            sink.lines.withLock { $0.append("\(event.level) \(event.message) \(meta)") }
        }
    }
}

/// Protocol op `applied`: a trainer reports the digest of the weights it multiplied into its loss.
@Suite(.serialized) struct AckTests {
    func counters(_ c: SidecarClient) throws -> [String: Int] {
        let r = try c.request([Array(#"{"v":1,"op":"stats","id":99}"#.utf8)])
        let h = try r[0].withUnsafeBytes { try ReplyHeader.decode($0, frameCount: 1) }
        return Dictionary(uniqueKeysWithValues: (h.stats ?? []).map { ($0.name, $0.value) })
    }

    func applied(_ c: SidecarClient, id: Int, replyID: Int, _ d: WeightDigest) throws -> AppliedVerdict? {
        let r = try c.request([RequestHeader(op: .applied, id: id, applied: AppliedReport(replyID: replyID, weights: d)).encode()])
        let h = try r[0].withUnsafeBytes { try ReplyHeader.decode($0, frameCount: r.count) }
        #expect(h.isOK && h.op == "applied" && h.id == id)
        return h.applied
    }

    @Test func digestDefinition() {
        // ordinals restart per row and skip masked positions
        let d = WeightDigest(weights: [2, 9, 0.5, 0, 0.25, 4, 4, 7], mask: [1, 0, 1, 1, 0, 1, 1, 0], rows: 2, length: 4)
        #expect(d == WeightDigest(rows: 2, tokens: 5, weightSum: 10.5, digest: 2 + 0.5 * 2 + 4 + 4 * 2))
        #expect(d.matches(WeightDigest(rows: 2, tokens: 5, weightSum: 10.5 * (1 + 1e-12), digest: d.digest * (1 - 1e-12))))
        #expect(d.mismatch(WeightDigest(rows: 2, tokens: 5, weightSum: 10.5, digest: d.digest * (1 + 1e-6)))?.contains("digest") == true)
        #expect(d.mismatch(WeightDigest(rows: 2, tokens: 4, weightSum: 10.5, digest: d.digest))?.contains("tokens") == true)
        #expect(!d.matches(WeightDigest(rows: 2, tokens: 5, weightSum: .nan, digest: d.digest)))
    }

    /// A trainer that applies the weights is acknowledged; one whose loss ignores them is caught.
    @Test func honestTrainerMatchesAndWeightIgnoringTrainerIsCaught() throws {
        let log = LogCollector()
        try withServer(logger: log.logger) { _, ep in
            let c = try SidecarClient(endpoint: ep)
            let ids: [Int32] = [1, 2, 3, 4, 5, 6, 7, 8], mask: [Float] = [1, 1, 1, 0, 1, 1, 1, 1]
            let r1 = try decodeReply(try c.request(shapeFrames(id: 7, ids: ids, mask: mask, batch: 2, gts: ["a", "b"])))
            #expect(r1.header.isOK && r1.weights.contains { $0 != 0 && $0 != 1 }) // weights differ from the mask
            // honest trainer: the digest of the weights it multiplied in
            let honest = WeightDigest(weights: r1.weights, mask: mask, rows: 2, length: 4)
            #expect(try applied(c, id: 100, replyID: 7, honest) == AppliedVerdict(.ok))
            // a second report for the same reply finds nothing open
            #expect(try applied(c, id: 101, replyID: 7, honest)?.result == .unknown)

            // a trainer whose loss ignores the weights: the tensor that multiplies its loss is the mask
            let r2 = try decodeReply(try c.request(shapeFrames(id: 8, ids: ids, mask: mask, batch: 2, gts: ["a", "b"])))
            #expect(r2.header.isOK)
            let ignoring = WeightDigest(weights: mask, mask: mask, rows: 2, length: 4)
            let verdict = try applied(c, id: 102, replyID: 8, ignoring)
            #expect(verdict?.result == .mismatch)
            #expect(verdict?.message.contains("reply 8") == true)
            // never-sent id
            #expect(try applied(c, id: 103, replyID: 12345, honest)?.result == .unknown)

            let n = try counters(c)
            #expect(n["applied_ok"] == 1 && n["applied_mismatch"] == 1 && n["applied_unknown"] == 2)
            #expect(n["requests_applied"] == 4 && n["shape_unacknowledged"] == 0)
            let prom = try c.request([Array(#"{"v":1,"op":"stats","id":98}"#.utf8)])
            let ph = try prom[0].withUnsafeBytes { try ReplyHeader.decode($0, frameCount: 1) }
            #expect(ph.prometheus?.contains("rest_shaper_applied_total{result=\"mismatch\"} 1") == true)
        }
        #expect(log.lines.withLock { $0 }.contains { $0.contains("trainer applied different weights") && $0.contains("reply 8") })
    }

    /// A trainer that never reports: replies count as unacknowledged after the window, with a warning.
    @Test func silentTrainerIsReportedAsUnacknowledged() throws {
        let log = LogCollector()
        var cfg = SidecarConfig()
        cfg.ackWindowSeconds = 0.2
        cfg.ackWarningIntervalSeconds = 3600 // one warning for the whole test
        try withServer(cfg, logger: log.logger) { _, ep in
            let c = try SidecarClient(endpoint: ep)
            for id in 1...3 {
                let r = try decodeReply(try c.request(shapeFrames(id: id, ids: [1, 2], mask: [1, 1], batch: 1, gts: ["x"])))
                #expect(r.header.isOK)
            }
            #expect(try counters(c)["shape_unacknowledged"] == 0) // still inside the window
            var n: [String: Int] = [:]
            for _ in 0..<100 {
                usleep(50_000)
                n = try counters(c)
                if n["shape_unacknowledged"] == 3 { break }
            }
            #expect(n["shape_unacknowledged"] == 3 && n["applied_ok"] == 0)
            // too late: the reply expired
            let late = WeightDigest(weights: [2, 3], mask: [1, 1], rows: 1, length: 2)
            #expect(try applied(c, id: 50, replyID: 1, late)?.result == .unknown)
            // a reply without weights (compute_weights false) is not tracked
            var h = try withRaw(shapeFrames(id: 9, ids: [1, 2], mask: [1, 1], batch: 1, gts: ["x"])) { try RequestHeader.decode($0[0], frameCount: $0.count) }
            h.options = WireOptions(computeWeights: false)
            var frames = shapeFrames(id: 9, ids: [1, 2], mask: [1, 1], batch: 1, gts: ["x"])
            frames[0] = h.encode()
            #expect(try decodeReply(try c.request(frames)).header.isOK)
            usleep(400_000)
            #expect(try counters(c)["shape_unacknowledged"] == 3)
        }
        let warnings = log.lines.withLock { $0 }.filter { $0.contains("no trainer reports applying them") }
        #expect(warnings.count == 1)
        #expect(warnings.first?.hasPrefix("warning") == true)
    }

    @Test func malformedAppliedRequestsAreRefused() throws {
        try withServer { _, ep in
            let c = try SidecarClient(endpoint: ep)
            for bad in [#"{"v":1,"op":"applied","id":1}"#,
                        #"{"v":1,"op":"applied","id":2,"applied":{"reply_id":1,"rows":1,"tokens":1,"weight_sum":1}}"#,
                        #"{"v":1,"op":"applied","id":3,"applied":{"reply_id":1,"rows":1,"tokens":1,"weight_sum":null,"digest":1}}"#,
                        #"{"v":1,"op":"applied","id":4,"applied":{"reply_id":-1,"rows":1,"tokens":1,"weight_sum":1,"digest":1}}"#,
                        #"{"v":1,"op":"applied","id":5,"applied":[1]}"#] {
                let r = try c.request([Array(bad.utf8)])
                let h = try r[0].withUnsafeBytes { try ReplyHeader.decode($0, frameCount: r.count) }
                // A missing or mistyped member is a bad header; a number out of range (null = NaN, −1) a value error.
                let expected: WireErrorCode = bad.contains("null") || bad.contains("-1") ? .value : .badHeader
                #expect(h.error?.code == expected, "\(bad)")
            }
            #expect(try counters(c)["errors_bad_header"] == 3)
            #expect(try counters(c)["errors_value"] == 2)
        }
    }
}
