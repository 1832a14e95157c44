import Testing
import Wire
import Pipeline

/// Malformed requests decode to the right typed error.
@Suite struct CodecTests {
    func code(_ frames: [[UInt8]], limits: WireLimits = WireLimits(vocabSize: 1000)) -> WireErrorCode? {
        do {
            try withRaw(frames) { raw in
                let h = try RequestHeader.decode(raw[0], frameCount: raw.count)
                _ = try ShapeRequestCodec.decode(header: h, frames: raw, limits: limits)
            }
            return nil
        } catch let e as WireError { return e.code } catch { return .internal }
    }

    func header(_ s: String) -> [UInt8] { Array(s.utf8) }
    let ids: [UInt8] = [Int32](repeating: 5, count: 6).withUnsafeBytes { Array($0) }
    let mask: [UInt8] = [Float](repeating: 1, count: 6).withUnsafeBytes { Array($0) }
    func shape(_ extra: String = "", gt: String = #"["a","b"]"#, idsShape: String = "[2,3]", dtype: String = "int32") -> [UInt8] {
        header(#"{"v":1,"op":"shape","id":1,"step":0,"ground_truth":\#(gt),"tensors":[{"name":"input_ids","dtype":"\#(dtype)","shape":\#(idsShape),"frames":[1]},{"name":"mask","dtype":"float32","shape":[2,3],"frames":[2]}\#(extra)]}"#)
    }

    @Test func valid() { #expect(code([shape(), ids, mask]) == nil) }
    @Test func brokenJSON() { #expect(code([header(#"{"v":1,"op":"#), ids]) == .badHeader) }
    @Test func trailingGarbage() { #expect(code([header(#"{"v":1,"op":"ping","id":1}xx"#)]) == .badHeader) }
    @Test func notAnObject() { #expect(code([header("[1,2]")]) == .badHeader) }
    @Test func emptyHeader() { #expect(code([[]]) == .badHeader) }
    @Test func wrongVersion() { #expect(code([header(#"{"v":2,"op":"ping","id":1}"#)]) == .version) }
    @Test func unknownOp() { #expect(code([header(#"{"v":1,"op":"dance","id":1}"#)]) == .badHeader) }
    @Test func wrongDType() { #expect(code([shape(dtype: "float32"), ids, mask]) == .dtype) }
    @Test func unknownDType() { #expect(code([shape(dtype: "complex64"), ids, mask]) == .dtype) }
    @Test func wrongShape() { #expect(code([shape(idsShape: "[3,2]"), ids, mask]) == .shape) }
    @Test func groundTruthCount() { #expect(code([shape(gt: #"["a"]"#), ids, mask]) == .shape) }
    @Test func shortFrame() { #expect(code([shape(), Array(ids.dropLast(4)), mask]) == .shape) }
    @Test func missingFrame() { #expect(code([shape(), ids]) == .badHeader) }
    @Test func extraFrame() { #expect(code([shape(), ids, mask, [1, 2]]) == .badHeader) }
    @Test func tokenOutOfRange() {
        var bad = ids; bad[0] = 0xE8; bad[1] = 0x03 // 1000
        #expect(code([shape(), bad, mask]) == .tokenID)
    }
    @Test func negativeToken() { #expect(code([shape(), [UInt8](repeating: 0xFF, count: 24), mask]) == .tokenID) }
    @Test func invalidUTF8() {
        var h = shape(gt: #"["a","XX"]"#)
        let i = h.firstIndex(of: UInt8(ascii: "X"))!
        h[i] = 0xC3; h[i + 1] = 0x28
        #expect(code([h, ids, mask]) == .utf8)
    }
    @Test func limits() {
        #expect(code([shape(), ids, mask], limits: WireLimits(maxTokens: 5, vocabSize: 1000)) == .limit)
        #expect(code([shape(), ids, mask], limits: WireLimits(maxBatch: 1, vocabSize: 1000)) == .limit)
    }
    @Test func hugeShapeIsALimitNotACrash() {
        let unlimited = WireLimits(maxMessageBytes: .max, maxTokens: .max, maxVocab: .max, maxBatch: .max, vocabSize: 1000)
        #expect(code([shape(gt: "[]", idsShape: "[1099511627776,1099511627776]"), ids, mask], limits: unlimited) == .limit)
        #expect(code([shape(idsShape: "[1099511627776,1099511627776]"), ids, mask]) == .limit)
    }
    @Test func vocabLimit() {
        let logits = [UInt8](repeating: 0, count: 2 * 3 * 8 * 4)
        let extra = #",{"name":"logits","dtype":"float32","shape":[2,3,8],"frames":[3]}"#
        #expect(code([shape(extra), ids, mask, logits]) == nil)
        #expect(code([shape(extra), ids, mask, logits], limits: WireLimits(maxVocab: 4, vocabSize: 1000)) == .limit)
    }
    @Test func twoEntropySources() {
        let e = [UInt8](repeating: 0, count: 24)
        let extra = #",{"name":"entropy","dtype":"float32","shape":[2,3],"frames":[3]},{"name":"logits","dtype":"float32","shape":[2,3,1],"frames":[4]}"#
        #expect(code([shape(extra), ids, mask, e, e]) == .badHeader)
    }
    // ── Numeric edges (issue 11): every number is range-checked in integer arithmetic. ──

    func i64(_ v: [Int64]) -> [UInt8] { v.withUnsafeBytes { Array($0) } }
    func i32(_ v: [Int32]) -> [UInt8] { v.withUnsafeBytes { Array($0) } }
    func f32(_ v: [Float]) -> [UInt8] { v.withUnsafeBytes { Array($0) } }
    /// A shape request with prompt_ids [n] (int32) and prompt_lengths [2] (int64).
    func prompts(n: Int, lengths: [Int64]) -> [[UInt8]] {
        let extra = #",{"name":"prompt_ids","dtype":"int32","shape":[\#(n)],"frames":[3]},{"name":"prompt_lengths","dtype":"int64","shape":[2],"frames":[4]}"#
        return [shape(extra), ids, mask, i32([Int32](repeating: 7, count: n)), i64(lengths)]
    }

    @Test func promptLengths() {
        #expect(code(prompts(n: 3, lengths: [1, 2])) == nil)
        #expect(code(prompts(n: 0, lengths: [0, 0])) == nil)
        // The 100-byte request that used to kill the server (lengths through Float and Int(_:)).
        #expect(code(prompts(n: 1, lengths: [Int64.max, 1])) == .value)
        #expect(code(prompts(n: 1, lengths: [1 << 62, 1 << 62])) == .value)
        #expect(code(prompts(n: 1, lengths: [Int64.min, 2])) == .value)
        #expect(code(prompts(n: 2, lengths: [-1, 3])) == .value)
        #expect(code(prompts(n: 3, lengths: [1, 1])) == .shape)
        #expect(code(prompts(n: 3, lengths: [3, 3])) == .shape)
        #expect(code(prompts(n: 3, lengths: [2, 2])) == .shape)
    }

    @Test func headerIntegersOutOfRange() {
        func h(id: String = "1", step: String = "0") -> [UInt8] {
            header(#"{"v":1,"op":"shape","id":\#(id),"step":\#(step),"ground_truth":["a","b"],"tensors":[{"name":"input_ids","dtype":"int32","shape":[2,3],"frames":[1]},{"name":"mask","dtype":"float32","shape":[2,3],"frames":[2]}]}"#)
        }
        #expect(code([h(step: "-1"), ids, mask]) == .value)
        #expect(code([h(step: "1.5"), ids, mask]) == .value)
        #expect(code([h(step: "1e400"), ids, mask]) == .value)
        #expect(code([h(step: "9223372036854775807"), ids, mask]) == .value)
        #expect(code([h(step: "\"x\""), ids, mask]) == .badHeader)
        #expect(code([h(id: "-1"), ids, mask]) == .value)
        #expect(code([h(id: "18446744073709551616"), ids, mask]) == .value)
        #expect(code([h(id: "9007199254740991"), ids, mask]) == nil) // 2^53 − 1, the largest id a double holds exactly
        #expect(code([h(id: "9007199254740993"), ids, mask]) == .value) // reads as 2^53: not exact, refused
        #expect(code([header(#"{"v":1e300,"op":"ping","id":1}"#)]) == .version)
        #expect(code([shape(idsShape: "[2,-3]"), ids, mask]) == .value)
        #expect(code([shape(idsShape: "[2,1e20]"), ids, mask]) == .value)
        #expect(code([shape(idsShape: "[2,3.5]"), ids, mask]) == .value)
        let frame0 = header(#"{"v":1,"op":"shape","id":1,"step":0,"ground_truth":["a","b"],"tensors":[{"name":"input_ids","dtype":"int32","shape":[2,3],"frames":[0]},{"name":"mask","dtype":"float32","shape":[2,3],"frames":[2]}]}"#)
        #expect(code([frame0, ids, mask]) == .badHeader)
        let vocab0 = header(#"{"v":1,"op":"shape","id":1,"step":0,"vocab":0,"ground_truth":["a","b"],"tensors":[{"name":"input_ids","dtype":"int32","shape":[2,3],"frames":[1]},{"name":"mask","dtype":"float32","shape":[2,3],"frames":[2]}]}"#)
        #expect(code([vocab0, ids, mask]) == .value)
    }

    @Test func temperatures() {
        func withTemperature(_ t: String) -> [UInt8] {
            header(#"{"v":1,"op":"shape","id":1,"step":0,"ground_truth":["a","b"],"options":{"temperature":\#(t)},"tensors":[{"name":"input_ids","dtype":"int32","shape":[2,3],"frames":[1]},{"name":"mask","dtype":"float32","shape":[2,3],"frames":[2]}]}"#)
        }
        #expect(code([withTemperature("0.7"), ids, mask]) == nil)
        #expect(code([withTemperature("1e30"), ids, mask]) == nil) // huge but a float32: a flat distribution
        for bad in ["0", "-1", "1e39", "1e-50", "1e400", "null", "-0.0"] {
            #expect(code([withTemperature(bad), ids, mask]) == .value, "temperature \(bad)")
        }
        #expect(code([withTemperature("\"hot\""), ids, mask]) == .badHeader)
    }

    @Test func nonFiniteMask() {
        #expect(code([shape(), ids, f32([1, .nan, 1, 1, 1, 1])]) == .value)
        #expect(code([shape(), ids, f32([1, 1, 1, 1, 1, -.infinity])]) == .value)
        #expect(code([shape(), ids, f32([1, 1e38, 0, -0.0, 1, 1])]) == nil)
    }

    @Test func integerEdgesOfTokenIDs() {
        let ids64 = #"{"v":1,"op":"shape","id":1,"step":0,"ground_truth":["a","b"],"tensors":[{"name":"input_ids","dtype":"int64","shape":[2,3],"frames":[1]},{"name":"mask","dtype":"float32","shape":[2,3],"frames":[2]}]}"#
        for edge: Int64 in [Int64.max, Int64.min, 1 << 32, (1 << 32) + 5, -1, 1000] {
            #expect(code([header(ids64), i64([5, 5, edge, 5, 5, 5]), mask]) == .tokenID, "id \(edge)")
        }
        #expect(code([header(ids64), i64([0, 999, 5, 5, 5, 5]), mask]) == nil)
        for edge: Int32 in [Int32.max, Int32.min, -1, 1000] {
            #expect(code([shape(), i32([5, 5, 5, 5, 5, edge]), mask]) == .tokenID, "id \(edge)")
        }
    }

    @Test func peekReadsIDOfInvalidHeader() {
        let h = header(#"{"v":7,"op":"shape","id":42,"step":"x"}"#)
        let p = h.withUnsafeBytes { RequestHeader.peek($0) }
        #expect(p.op == "shape" && p.id == 42)
    }

    @Test func encodeDecodeRoundTrip() throws {
        let r = ShapeRequest(inputIDs: [1, 2, 3, 4], mask: [1, 1, 1, 0], batch: 2, length: 2, groundTruths: ["x", "y"],
                             step: 7, entropy: .entropies([0.5, 1, 2, 0]))
        let frames = ShapeRequestCodec.encode(r, id: 9, maxFrameBytes: 8)
        #expect(frames.count == 1 + 2 + 2 + 2)
        let back = try withRaw(frames.map(\.bytes)) { raw in
            try ShapeRequestCodec.decode(header: try RequestHeader.decode(raw[0], frameCount: raw.count), frames: raw, limits: WireLimits())
        }
        #expect(back.inputIDs == r.inputIDs && back.mask == r.mask && back.step == 7 && back.groundTruths == ["x", "y"])
    }

    @Test func jsonEscaping() {
        var w = JSONWriter()
        w.openObject(); w.key("k\"\\"); w.string("a\n\t\u{1}\u{7f}é"); w.key("d"); w.double(.nan); w.key("e"); w.double(1e-5); w.closeObject()
        #expect(String(decoding: w.bytes, as: UTF8.self) == #"{"k\"\\":"a\n\t\u0001"# + "\u{7f}é\",\"d\":null,\"e\":1e-05}")
    }
}
