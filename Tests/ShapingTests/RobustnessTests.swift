import Regions
import Shaping
import Testing

/// Random responses built from structural fragments: the parser and the released span logic must
/// never crash, segments must cover every byte, and weights must stay finite and non-negative.
@Suite("robustness on random inputs")
struct RobustnessTests {
    static let fragments = ["<think>", "</think>", "<tool_call>", "</tool_call>", "<toolcall>", "</toolcall>", "<response>",
                            "</response>", "{", "}", "[", "]", "\"", "\\", "\\\"", ":", ",", "\n", " ", "\"name\"",
                            "\"arguments\"", "\"parameters\"", "\"function\"", "x", "é", "🎂", "<", ">", "</", "<|im_end|>"]

    /// A deterministic generator (xorshift) so failures reproduce.
    struct Gen: RandomNumberGenerator {
        var s: UInt64
        mutating func next() -> UInt64 { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return s }
    }

    @Test("random token rows: categories for every token, contiguous segments, finite weights", arguments: 0..<8)
    func randomRows(seed: Int) throws {
        var g = Gen(s: 0x9E37_79B9_7F4A_7C15 &+ UInt64(seed) &* 0x1000_0001)
        let aligned = try AlignedProfile()
        let released = try ReleasedProfile()
        for _ in 0..<200 {
            var pieces: [TokenRow.Piece] = []
            for _ in 0..<Int.random(in: 0..<60, using: &g) {
                let f = Self.fragments.randomElement(using: &g)!
                if f == "🎂", Bool.random(using: &g) {
                    let b = Array(f.utf8); let cut = Int.random(in: 1..<4, using: &g)
                    pieces.append(.bytes(Array(b[..<cut]))); pieces.append(.bytes(Array(b[cut...])))
                } else {
                    pieces.append(.text(f))
                }
            }
            let row = TokenRow(pieces)
            let cats = row.categories()
            #expect(cats.count == row.count)
            let segs = row.bytes.withUnsafeBufferPointer { b in row.starts.withUnsafeBufferPointer { s in
                row.added.withUnsafeBufferPointer { a in RegionParser().segments(bytes: b, tokenStarts: s, isAdded: a) } } }
            if !row.bytes.isEmpty {
                #expect(segs.first?.start == 0 && segs.last?.end == row.bytes.count)
                for (a, b) in zip(segs, segs.dropFirst()) { #expect(a.end == b.start) }
            }
            let mask = [Float](repeating: 1, count: row.count)
            let ids = [Int32](repeating: 0, count: row.count)
            let (w, o) = aligned.weights(ids: ids, mask: mask, categories: cats.map(\.rawValue), step: ShapingStep(step: 50))
            #expect(o == .ok && w.allSatisfy { $0.isFinite && $0 >= 0 })
            // Released span logic on the same text with a per-code-point "re-tokenisation".
            let text = String(decoding: row.bytes, as: UTF8.self)
            let n = text.unicodeScalars.count
            let offs = CodePointOffsets(starts: (0..<n).map { Int32($0) }, ends: (0..<n).map { Int32($0 + 1) })
            let (rw, ro) = released.weights(ids: ids, mask: mask, codec: RecordedTextCodec(text: text, offsets: offs), step: ShapingStep(step: 50))
            #expect(rw.allSatisfy { $0.isFinite && $0 >= 0 })
            if case .fellBack(let e) = ro { #expect(e.pythonExceptionName != nil && rw == mask) }
        }
    }

    @Test("bad buffers: short categories, short weights, out-of-range token starts do not crash")
    func badBuffers() throws {
        let p = try AlignedProfile()
        let (w, o) = p.weights(ids: [1, 2, 3], mask: [1, 1, 1], categories: [2], step: ShapingStep(step: 0))
        #expect(o.error?.code == "invalid_row" && w == [1, 1, 1])
        let bytes = Array("<think>abc".utf8)
        let cats = RegionParser().categorize(bytes: bytes, tokenStarts: [0, 7, 50, 3], isAdded: [true])
        #expect(cats.count == 3)
    }
}
