import Capture
import Foundation
import Sidecar
import Synchronization
import Pipeline
import Testing
import Wire

@Suite struct CaptureTests {
    func tempPath() -> String { "/tmp/rs-cap-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).rscap" }

    func writeSample(_ path: String, records: Int) throws {
        let w = try CaptureWriter(path: path)
        for i in 0..<records {
            let req = shapeFrames(id: i, ids: [1, 2, 3, 4], mask: [1, 1, 1, 0], batch: 2, gts: ["ab", "c"], entropy: [0.5, 1, 2, 0])
            let r = ShapeRequest(inputIDs: [1, 2, 3, 4], mask: [1, 1, 1, 0], batch: 2, length: 2, groundTruths: ["ab", "c"], step: 3,
                                 entropy: .entropies([0.5, 1, 2, 0]))
            let result = try FakeShaper().shape(r)
            let reply = ShapeReplyCodec.encode(ShapeReply(result: result, id: i, batch: 2, length: 2, computeMicros: 1, includeEntropies: false))
            w.append(request: OwnedFrames(req), reply: OwnedFrames(buffers: reply))
        }
        try w.close()
    }

    func readAll(_ path: String) throws -> ([CaptureRecord], CaptureTailProblem?) {
        let r = try CaptureReader(path: path)
        var out: [CaptureRecord] = []
        while let x = r.next() { out.append(x) }
        return (out, r.tailProblem)
    }

    @Test func crcMatchesZlib() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum(Array("The quick brown fox jumps over the lazy dog".utf8)) == 0x414F_A339)
    }

    @Test func roundTripAndReplayIdentical() throws {
        let path = tempPath(); defer { unlink(path) }
        try writeSample(path, records: 3)
        let (recs, tail) = try readAll(path)
        #expect(recs.count == 3 && tail == nil)
        let report = Replayer(shaper: FakeShaper()).run(try CaptureReader(path: path))
        #expect(report.shapeReplayed == 3 && report.identical == 3 && report.different == 0)
        #expect(report.regions[1]?.tokens == 3 * 1 && report.regions[3]?.tokens == 3) // ids 1 and 3 → categories 1, 3
        #expect(report.regions[2]?.meanWeight == 3 && report.regions[1]?.meanEntropy == 0.5)
        let html = HeatMap.render(report, title: "t", tokenText: { "<\($0)>" })
        #expect(html.contains("&lt;2&gt;") && html.contains("think_tag"))
    }

    @Test func replayReportsDifferences() throws {
        struct Other: Shaper {
            func shape(_ r: ShapeRequest) throws -> ShapeResult {
                var x = try FakeShaper().shape(r); x.weights[0] *= 2; return x
            }
        }
        let path = tempPath(); defer { unlink(path) }
        try writeSample(path, records: 2)
        let report = Replayer(shaper: Other()).run(try CaptureReader(path: path))
        #expect(report.different == 2 && report.identical == 0 && !report.differences.isEmpty)
    }

    @Test func truncatedTailKeepsCompleteRecords() throws {
        let path = tempPath(); defer { unlink(path) }
        try writeSample(path, records: 4)
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        data.removeLast(10)
        try data.write(to: URL(fileURLWithPath: path))
        let (recs, tail) = try readAll(path)
        #expect(recs.count == 3)
        #expect(tail?.kind == .truncated)
        let report = Replayer(shaper: FakeShaper()).run(try CaptureReader(path: path))
        #expect(report.identical == 3 && report.tail?.kind == .truncated)
    }

    @Test func corruptRecordIsReported() throws {
        let path = tempPath(); defer { unlink(path) }
        try writeSample(path, records: 3)
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        let (recs, _) = try readAll(path)
        data[recs[2].offset + 40] ^= 0xFF
        try data.write(to: URL(fileURLWithPath: path))
        let (again, tail) = try readAll(path)
        #expect(again.count == 2 && tail?.kind == .corrupt && tail?.offset == recs[2].offset)
    }

    @Test func notACapture() throws {
        let path = tempPath(); defer { unlink(path) }
        try Data("hello world".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: CaptureError.self) { try CaptureReader(path: path) }
    }
}

/// A shaper whose output depends on how many batches it has seen (like the entropy curriculum).
final class CountingShaper: Shaper, CaptureStateProvider {
    let seen = Mutex(0)
    func shape(_ r: ShapeRequest) throws -> ShapeResult {
        let n = seen.withLock { v -> Int in v += 1; return v }
        var x = try FakeShaper().shape(r)
        x.weights = x.weights.map { $0 * Float(n) }
        return x
    }
    func captureState() -> [UInt8] { Array(String(seen.withLock { $0 }).utf8) }
    func restoreCaptureState(_ bytes: [UInt8]) throws { seen.withLock { $0 = Int(String(decoding: bytes, as: UTF8.self))! } }
}

@Suite struct CaptureStateTests {
    @Test func replayRestoresEngineState() throws {
        let dir = "/tmp/rs-capstate-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var cfg = SidecarConfig()
        cfg.captureDirectory = dir
        cfg.workers = 1
        let path: String = try withServer(cfg, shaper: CountingShaper()) { server, ep in
            let c = try SidecarClient(endpoint: ep)
            for i in 0..<3 { _ = try c.request(shapeFrames(id: i, ids: [1, 2], mask: [1, 1], batch: 1, gts: ["a"])) }
            return server.capturePath!
        }
        let report = Replayer(shaper: CountingShaper()).run(try CaptureReader(path: path))
        #expect(report.shapeReplayed == 3 && report.identical == 3)
        let reader = try CaptureReader(path: path)
        #expect(reader.next()?.engineState == Array("0".utf8))
    }
}
