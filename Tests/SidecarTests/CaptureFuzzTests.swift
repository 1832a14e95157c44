import Capture
import Entropy
import Foundation
import Pipeline
import Testing
import Wire

/// Capture-reader fuzz (issue 11): truncated, bit-flipped and crafted files (lengths with the top
/// bit set, frame counts past the body, CRCs recomputed so the body parser is reached). The reader
/// must report and stop, never trap; records before the damage come back intact. Replay of every
/// file runs too, since `rest-shaper replay` reads whatever a capture holds.
@Suite struct CaptureFuzzTests {
    /// The project's seeded generator, so a failure names a reproducible case.
    struct Rng {
        var g: SplitMix64
        init(s: UInt64) { g = SplitMix64(seed: s) }
        mutating func next() -> UInt64 { g.next() }
        mutating func below(_ n: Int) -> Int { Int(g.next() % UInt64(max(n, 1))) }
    }

    static func sample() throws -> (bytes: [UInt8], records: [CaptureRecord]) {
        let path = "/tmp/rs-capfuzz-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).rscap"
        defer { unlink(path) }
        let w = try CaptureWriter(path: path)
        for i in 0..<4 {
            let req = shapeFrames(id: i, ids: [1, 2, 3, 4], mask: [1, 1, 1, 0], batch: 2, gts: ["ab", "c"], entropy: [0.5, 1, 2, 0])
            let r = ShapeRequest(inputIDs: [1, 2, 3, 4], mask: [1, 1, 1, 0], batch: 2, length: 2, groundTruths: ["ab", "c"], step: 3,
                                 entropy: .entropies([0.5, 1, 2, 0]))
            let reply = ShapeReplyCodec.encode(ShapeReply(result: try FakeShaper().shape(r), id: i, batch: 2, length: 2,
                                                          computeMicros: 1, includeEntropies: false))
            w.append(request: OwnedFrames(req), reply: OwnedFrames(buffers: reply), engineState: i % 2 == 0 ? Array("{}".utf8) : nil)
        }
        try w.close()
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let reader = try CaptureReader(path: path)
        var recs: [CaptureRecord] = []
        while let r = reader.next() { recs.append(r) }
        return (bytes, recs)
    }

    /// Reads `bytes` as a capture file: the records read and the tail problem (nil: not a capture).
    static func read(_ bytes: [UInt8], replay: Bool = false) -> (records: [CaptureRecord], tail: CaptureTailProblem?)? {
        let path = "/tmp/rs-capfuzz-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).rscap"
        defer { unlink(path) }
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        guard let reader = try? CaptureReader(path: path) else { return nil }
        var recs: [CaptureRecord] = []
        while let r = reader.next() { recs.append(r) }
        #expect(reader.next() == nil, "the reader stops once it has stopped")
        if replay, let again = try? CaptureReader(path: path) { _ = Replayer(shaper: FakeShaper()).run(again) }
        return (recs, reader.tailProblem)
    }

    static func same(_ a: CaptureRecord, _ b: CaptureRecord) -> Bool {
        a.request == b.request && a.reply == b.reply && a.engineState == b.engineState && a.flags == b.flags && a.offset == b.offset
    }

    static func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }

    /// Replaces record `index`'s body with `body` (and a matching length and CRC), so that the body
    /// parser, not the CRC check, meets the crafted content.
    static func withBody(_ file: [UInt8], records: [CaptureRecord], index: Int, body: [UInt8]) -> [UInt8] {
        let start = records[index].offset
        let oldLength = Int(CaptureFuzzTestsSupport.u64(file, start + 4))
        let end = start + CaptureFormat.recordHeaderBytes + oldLength
        let head = CaptureFormat.recordMagic + le(UInt64(body.count), 8) + le(UInt64(CRC32.checksum(body)), 4)
        return Array(file[..<start]) + head + body + Array(file[end...])
    }

    @Test func everyTruncationStopsCleanly() throws {
        let (file, recs) = try Self.sample()
        #expect(recs.count == 4)
        for n in 0...file.count {
            guard let (got, tail) = Self.read(Array(file.prefix(n))) else {
                #expect(n < 8, "only a file shorter than the magic is not a capture (\(n) bytes)")
                continue
            }
            let complete = recs.filter { $0.offset + 16 + Int(CaptureFuzzTestsSupport.u64(file, $0.offset + 4)) <= n }.count
            #expect(got.count == complete, "\(n) bytes")
            #expect(zip(got, recs).allSatisfy(Self.same))
            #expect((tail == nil) == (n == file.count || recs.contains { $0.offset == n } || n == 8), "\(n) bytes: \(String(describing: tail))")
        }
    }

    @Test func randomCorruptionNeverTraps() throws {
        let (file, recs) = try Self.sample()
        var rng = Rng(s: 11)
        for iteration in 0..<3000 {
            var f = file
            for _ in 0..<(1 + rng.below(4)) {
                let i = 8 + rng.below(f.count - 8)
                switch rng.below(3) {
                case 0: f[i] ^= UInt8(1 << rng.below(8))
                case 1: f[i] = [0x00, 0xFF, 0x80, 0x7F][rng.below(4)]
                default: f.removeSubrange(i..<min(f.count, i + 1 + rng.below(16)))
                }
                if f.count <= 8 { break }
            }
            guard let (got, _) = Self.read(f, replay: iteration % 10 == 0) else { continue }
            // Without a recomputed CRC, whatever comes back is an original record, in order.
            #expect(got.count <= recs.count && zip(got, recs).allSatisfy(Self.same), "iteration \(iteration)")
        }
    }

    @Test func craftedLengthsBehindAValidCRC() throws {
        let (file, recs) = try Self.sample()
        let body = Array(file[(recs[1].offset + 16)..<(recs[2].offset)])
        // Offsets inside record 1's body: time (0), flags (8), request frame count (12), first frame length (16).
        let huge: [UInt64] = [.max, 1 << 63, (1 << 63) + 5, UInt64(Int.max), UInt64(body.count), UInt64(body.count) + 1, 0xFFFF_FFFF]
        var cases: [[UInt8]] = []
        for v in huge {
            var b = body
            b.replaceSubrange(12..<16, with: Self.le(v, 4)); cases.append(b)               // request frame count
            b = body; b.replaceSubrange(16..<24, with: Self.le(v, 8)); cases.append(b)      // first frame length
            b = body; b.replaceSubrange(8..<12, with: Self.le(2, 4)); b += Self.le(v, 8); cases.append(b) // state length
        }
        cases.append([])                          // empty body
        cases.append(Array(body.prefix(11)))      // shorter than time + flags
        cases.append(body + [0])                  // trailing byte
        var rng = Rng(s: 7)
        for _ in 0..<2000 {                       // random u64 written at a random place
            var b = body
            let at = rng.below(b.count)
            let v = [rng.next(), rng.next() >> UInt64(rng.below(64)), UInt64(rng.below(64))][rng.below(3)]
            let bytes = Self.le(v, 8)
            for k in 0..<min(8, b.count - at) { b[at + k] = bytes[k] }
            cases.append(b)
        }
        for (i, b) in cases.enumerated() {
            let crafted = Self.withBody(file, records: recs, index: 1, body: b)
            guard let (got, tail) = Self.read(crafted, replay: i % 25 == 0) else { Issue.record("case \(i): not a capture"); continue }
            #expect(got.count >= 1 && Self.same(got[0], recs[0]), "case \(i)")
            if got.count == 1 { #expect(tail?.offset == recs[1].offset, "case \(i)") }
        }
        // A record header whose u64 length has the top bit set (used to become negative).
        for v: UInt64 in [.max, 1 << 63, (1 << 63) | 16] {
            var f = file
            f.replaceSubrange((recs[1].offset + 4)..<(recs[1].offset + 12), with: Self.le(v, 8))
            let (got, tail) = try #require(Self.read(f))
            #expect(got.count == 1 && tail?.kind == .truncated && tail?.offset == recs[1].offset)
        }
    }
}

enum CaptureFuzzTestsSupport {
    static func u64(_ b: [UInt8], _ at: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(b[at + $1]) << UInt64(8 * $1) }
    }
}
