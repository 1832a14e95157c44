import Testing
import Wire
import Pipeline

/// Every golden message in protocol/golden decodes and re-encodes byte for byte.
@Suite struct GoldenTests {
    @Test func manifestListsAllMessages() throws {
        #expect(try GoldenMessages.manifest().count == 17)
    }

    @Test(arguments: try GoldenMessages.manifest())
    func roundTrip(_ e: GoldenMessages.Entry) throws {
        let frames = try GoldenMessages.frames(e.file)
        try withRaw(frames) { raw in
            if e.kind == "request" {
                let h = try RequestHeader.decode(raw[0], frameCount: raw.count)
                #expect(h.encode() == frames[0], "header of \(e.file)")
                #expect(h.op.rawValue == e.op)
                guard h.op == .shape else { #expect(raw.count == 1); return }
                let req = try ShapeRequestCodec.decode(header: h, frames: raw, limits: WireLimits())
                let again = ShapeRequestCodec.encode(req, id: h.id, options: h.options,
                                                     idsDType: WireDType(rawValue: e.ids_dtype!)!,
                                                     maskDType: WireDType(rawValue: e.mask_dtype!)!,
                                                     maxFrameBytes: e.max_frame_bytes!)
                #expect(again.map(\.bytes) == frames, "re-encoded \(e.file)")
            } else {
                let h = try ReplyHeader.decode(raw[0], frameCount: raw.count)
                #expect(h.encode() == frames[0], "header of \(e.file)")
                if e.op == "shape" {
                    let reply = try ShapeReplyCodec.decode(raw)
                    let again = ShapeReplyCodec.encode(reply, maxFrameBytes: e.max_frame_bytes ?? MessageBuilder.defaultMaxFrameBytes)
                    #expect(again.map(\.bytes) == frames, "re-encoded \(e.file)")
                }
            }
        }
    }

    @Test func goldenValuesDecode() throws {
        let req = try withRaw(try GoldenMessages.frames("shape_request_entropy_options.bin")) { raw in
            try ShapeRequestCodec.decode(header: try RequestHeader.decode(raw[0], frameCount: raw.count), frames: raw, limits: WireLimits())
        }
        #expect(req.batch == 2 && req.length == 4 && req.step == 150)
        #expect(req.inputIDs == [151667, 198, 151668, 151645, 785, 1196, 151643, 151643])
        #expect(req.mask == [1, 1, 1, 1, 1, 1, 0, 0])
        #expect(req.groundTruths[0].contains("Zürich \\ 東京"))
        #expect(req.groundTruths[1] == "tab\there \u{1} ctrl, emoji 😀")
        #expect(req.options.profile == "released" && req.options.rewardFlags == ["SCHEDULEREWARD": true, "WITHLENGTH": false])
        #expect(abs(req.options.temperature - 0.7) < 1e-7)
        guard case .entropies(let e) = req.entropy else { Issue.record("no entropies"); return }
        #expect(e == [0.5, 1.25, 0.0, 2.0, 0.125, 3.0, 0.0, 0.0])

        let logits = try withRaw(try GoldenMessages.frames("shape_request_logits_chunked.bin")) { raw in
            try ShapeRequestCodec.decode(header: try RequestHeader.decode(raw[0], frameCount: raw.count), frames: raw, limits: WireLimits())
        }
        guard case .logits(let bytes, let dt, let v) = logits.entropy else { Issue.record("no logits"); return }
        #expect(dt == .bf16 && v == 5 && bytes.count == 2 * 4 * 5 * 2)

        let topk = try withRaw(try GoldenMessages.frames("shape_request_topk_prompt.bin")) { raw in
            try ShapeRequestCodec.decode(header: try RequestHeader.decode(raw[0], frameCount: raw.count), frames: raw, limits: WireLimits())
        }
        #expect(topk.promptIDs == [[151644, 77091, 198], [151644]])
        guard case .topK(_, let k, _, let vocab) = topk.entropy else { Issue.record("no topk"); return }
        #expect(k == 3 && vocab == 151669)

        let mt = try withRaw(try GoldenMessages.frames("shape_request_multiturn.bin")) { raw in
            try ShapeRequestCodec.decode(header: try RequestHeader.decode(raw[0], frameCount: raw.count), frames: raw, limits: WireLimits())
        }
        #expect(mt.turnGroundTruths == [["gt first", nil], ["gt single"]])
        #expect(mt.options.turnReward == .sum && mt.mask[3...5] == [0, 0, 0])
        let mtReply = try withRaw(try GoldenMessages.frames("shape_reply_multiturn.bin")) { try ShapeReplyCodec.decode($0) }
        #expect(mtReply.turns == TurnRewards(k: 2, rewards: [-1, 0, 0.5, 0], ends: [2, 7, 5, -1]))
        #expect(mtReply.categories[3...5] == [10, 10, 10])

        let reply = try withRaw(try GoldenMessages.frames("shape_reply_ok.bin")) { try ShapeReplyCodec.decode($0) }
        #expect(reply.weights == [1.5, 0.75, 1.0, 0.75, 1.0, 1.0, 0.0, 0.0])
        #expect(reply.categories == [1, 2, 1, 9, 8, 8, 9, 9])
        #expect(reply.header.rollouts?[1] == RolloutStatus(code: "fallback", message: "no tool block; weights = mask"))
        #expect(reply.header.metrics?.rewardMean == 1.25)
    }
}
