import Capture
import Foundation
import Pipeline
import TestSupport
import Testing
import Wire

/// Replay of multi-turn records: the turn table is compared, the per-turn region table filled,
/// observation tokens greyed in the heat-map.
@Suite struct MultiTurnReplayTests {
    @Test func replayShowsTurnsAndComparesTurnRewards() throws {
        let tok = try TestFixtures.qwenTokenizer()
        let engine = ShapingEngine(tokenizer: tok, threads: 1)
        let call = #"<think>Weather first.</think>\#n<tool_call>\#n{"name": "get_weather", "arguments": {"city": "Paris"}}\#n</tool_call><|im_end|>"#
        let obs = "\n<|im_start|>user\n<tool_response>\n<think> unclosed\n</tool_response><|im_end|>\n<|im_start|>assistant\n"
        let answer = "<think>Done.</think>\n<response>21°C</response><|im_end|>"
        let parts = [tok.encode(call).ids, tok.encode(obs).ids, tok.encode(answer).ids]
        let ids = parts.flatMap { $0 } + [tok.id(forAddedToken: "<|endoftext|>")!]
        let mask = [Float](repeating: 1, count: parts[0].count) + [Float](repeating: 0, count: parts[1].count)
            + [Float](repeating: 1, count: parts[2].count) + [0]
        let truth = #"<think> ... </think>\#n<tool_call>\#n{"name": "get_weather", "arguments": {"city": "Paris"}}\#n</tool_call>"#
        let request = ShapeRequest(inputIDs: ids + ids, mask: mask + mask, batch: 2, length: ids.count, groundTruths: ["<response>21°C</response>", truth],
                                   step: 7, turnGroundTruths: [[truth, "<response>21°C</response>"], [truth, nil]])
        let result = try engine.shape(request)
        let turns = try #require(result.turns)
        #expect(turns.k == 2 && turns.ends == [Int32(parts[0].count - 1), Int32(ids.count - 2), Int32(parts[0].count - 1), Int32(ids.count - 2)])

        let path = "/tmp/rs-mt-cap-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).rscap"
        defer { unlink(path) }
        let w = try CaptureWriter(path: path)
        w.append(request: OwnedFrames(buffers: ShapeRequestCodec.encode(request, id: 1)),
                 reply: OwnedFrames(buffers: ShapeReplyCodec.encode(ShapeReply(result: result, id: 1, batch: 2, length: ids.count,
                                                                               computeMicros: 1, includeEntropies: false))))
        try w.close()

        let report = Replayer(shaper: ShapingEngine(tokenizer: tok, threads: 1), keepRollouts: 4).run(try CaptureReader(path: path))
        #expect(report.shapeReplayed == 1 && report.identical == 1, "\(report.differences)")
        #expect(report.multiTurnRollouts == 2 && report.observationTokens == 2 * parts[1].count)
        #expect(report.turns[0]?.rollouts == 2 && report.turns[1]?.rollouts == 2)
        #expect(report.turns[0]?.meanReward == Double(turns.rewards[0]))
        #expect(report.turnRegions[TurnRegion(turn: 0, category: 4)]?.tokens ?? 0 > 0)      // tool_name in turn 0
        #expect(report.turnRegions[TurnRegion(turn: 1, category: 8)]?.tokens ?? 0 > 0)      // response in turn 1
        #expect(report.turnRegions.keys.allSatisfy { $0.category != 10 })                    // observations: in no statistic
        #expect(report.regions[10] == nil)
        #expect(report.rollouts.first?.turnRewards == Array(turns.rewards[0..<2]))
        let html = HeatMap.render(report, title: "mt", tokenText: { (try? tok.decode([$0])) ?? "" })
        #expect(html.contains("class=\"t o\"") && html.contains("turn 1</span>") && html.contains("observation"))

        // A recomputation with other turn rewards is a difference.
        struct Shifted: Shaper {
            let engine: ShapingEngine
            func shape(_ r: ShapeRequest) throws -> ShapeResult {
                var x = try engine.shape(r)
                x.turns?.rewards[1] += 1
                return x
            }
        }
        let other = Replayer(shaper: Shifted(engine: engine)).run(try CaptureReader(path: path))
        #expect(other.different == 1 && other.differences.contains { $0.contains("turn rewards") })
    }
}
