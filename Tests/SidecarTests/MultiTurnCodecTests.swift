import Testing
import Wire
import Pipeline

/// `turn_ground_truth`, `options.turn_reward` and the `turn_rewards` / `turn_ends` reply tensors.
@Suite struct MultiTurnCodecTests {
    let ids: [UInt8] = [Int32](repeating: 5, count: 6).withUnsafeBytes { Array($0) }
    let mask: [UInt8] = [Float](repeating: 1, count: 6).withUnsafeBytes { Array($0) }

    func request(_ between: String) -> [[UInt8]] {
        let h = #"{"v":1,"op":"shape","id":1,"step":0,"ground_truth":["a","b"]\#(between),"tensors":[{"name":"input_ids","dtype":"int32","shape":[2,3],"frames":[1]},{"name":"mask","dtype":"float32","shape":[2,3],"frames":[2]}]}"#
        return [Array(h.utf8), ids, mask]
    }

    func decode(_ frames: [[UInt8]]) throws -> ShapeRequest {
        try withRaw(frames) { raw in
            try ShapeRequestCodec.decode(header: try RequestHeader.decode(raw[0], frameCount: raw.count), frames: raw,
                                         limits: WireLimits(vocabSize: 1000))
        }
    }

    func code(_ frames: [[UInt8]]) -> WireErrorCode? {
        do { _ = try decode(frames); return nil } catch let e as WireError { return e.code } catch { return .internal }
    }

    @Test func turnGroundTruthAndTurnRewardDecode() throws {
        let r = try decode(request(#","turn_ground_truth":[["x",null],["y"]],"options":{"turn_reward":"last"}"#))
        #expect(r.turnGroundTruths == [["x", nil], ["y"]])
        #expect(r.options.turnReward == .last)
        #expect(try decode(request("")).turnGroundTruths == nil)
        #expect(try decode(request("")).options.turnReward == .mean)
    }

    @Test func malformedTurnFieldsAreTypedErrors() {
        #expect(code(request(#","turn_ground_truth":[["x"]]"#)) == .shape)                 // one row for B = 2
        #expect(code(request(#","turn_ground_truth":["x","y"]"#)) == .badHeader)           // not a list of lists
        #expect(code(request(#","turn_ground_truth":[["x"],[3]]"#)) == .badHeader)         // not a string
        #expect(code(request(#","options":{"turn_reward":"median"}"#)) == .badHeader)
        #expect(code(request(#","options":{"turn_reward":1}"#)) == .badHeader)
    }

    @Test func headerRoundTripsCanonically() throws {
        let frames = request(#","turn_ground_truth":[["x",null],["y"]],"options":{"turn_reward":"sum"}"#)
        try withRaw(frames) { raw in
            let h = try RequestHeader.decode(raw[0], frameCount: raw.count)
            #expect(h.encode() == frames[0])
        }
    }

    @Test func replyTensorsRoundTrip() throws {
        var h = ReplyHeader(op: "shape", id: 3)
        h.rollouts = [.ok, .ok]
        let reply = ShapeReply(header: h, batch: 2, length: 3, weights: [1, 0, 1, 1, 1, 1], rewards: [0.5, 1],
                               components: [Float](repeating: 0, count: 8), categories: [1, 10, 2, 2, 2, 9],
                               entropies: nil, turns: TurnRewards(k: 2, rewards: [0.25, 0.75, 1, 0], ends: [0, 2, 2, -1]))
        let frames = ShapeReplyCodec.encode(reply).map(\.bytes)
        let back = try withRaw(frames) { try ShapeReplyCodec.decode($0) }
        #expect(back.turns == reply.turns)
        #expect(back.categories == reply.categories)
        var single = reply
        single.turns = nil
        let plain = try withRaw(ShapeReplyCodec.encode(single).map(\.bytes)) { try ShapeReplyCodec.decode($0) }
        #expect(plain.turns == nil)
    }
}
