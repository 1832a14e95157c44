import Foundation
import Pipeline
import Regions
import Shaping
import TestSupport
import Testing
import Tokenization

/// Multi-turn rollouts (issue 12): turns come from the mask; each turn is categorised and scored as
/// if it had been sent alone; observations are category 10 with weight 0.
struct MultiTurnTests {
    /// One golden-vector case (`Tests/TestSupport/Fixtures/rest_vectors_visible.json`).
    struct VectorCase: Decodable {
        var id: String
        var token_ids: [Int32]
        var loss_mask: [Float]
        var ground_truth: String
        var rewards: [String: Reward]
        struct Reward: Decodable { var score: Double }

        /// The valid (mask ≠ 0) response ids.
        var response: [Int32] { zip(token_ids, loss_mask).filter { $0.1 != 0 }.map(\.0) }
    }

    static func vectorCases() throws -> [VectorCase] {
        struct File: Decodable { var cases: [VectorCase] }
        return try JSONDecoder().decode(File.self, from: TestFixtures.goldenVectors()).cases
    }

    /// A tool response the way verl's agent loop appends it (mask 0): the end of the assistant turn,
    /// the tool message, the next assistant header.
    static func observation(_ tok: Tokenizer, _ body: String) -> [Int32] {
        tok.encode("\n<|im_start|>user\n<tool_response>\n\(body)\n</tool_response><|im_end|>\n<|im_start|>assistant\n").ids
    }

    /// One row: turns separated by observations, then `pad` padding tokens (mask 0).
    static func row(_ turns: [[Int32]], observations: [[Int32]], pad: Int, padID: Int32) -> (ids: [Int32], mask: [Float]) {
        var ids: [Int32] = [], mask: [Float] = []
        for (k, t) in turns.enumerated() {
            if k > 0 { ids += observations[k - 1]; mask += [Float](repeating: 0, count: observations[k - 1].count) }
            ids += t; mask += [Float](repeating: 1, count: t.count)
        }
        ids += [Int32](repeating: padID, count: pad); mask += [Float](repeating: 0, count: pad)
        return (ids, mask)
    }

    /// Rows of different lengths as one right-padded batch.
    static func batch(_ rows: [(ids: [Int32], mask: [Float])], padID: Int32) -> (ids: [Int32], mask: [Float], t: Int) {
        let t = rows.map(\.ids.count).max() ?? 0
        var ids: [Int32] = [], mask: [Float] = []
        for r in rows {
            ids += r.ids + [Int32](repeating: padID, count: t - r.ids.count)
            mask += r.mask + [Float](repeating: 0, count: t - r.mask.count)
        }
        return (ids, mask, t)
    }

    /// Observation tokens always weigh 0: configurations cannot name the category.
    @Test func configurationsCannotWeighObservations() throws {
        #expect(throws: (any Error).self) { try ShapingConfig.fromJSON(#"{"gammas": {"observation": 1.0}}"#) }
        #expect(throws: (any Error).self) { try ShapingConfig.fromJSON(#"{"token_modulation": {"exponent": 1, "categories": ["observation"]}}"#) }
        let json = try ShapingConfig().toJSON()
        #expect(!json.contains("observation"))
        #expect(try ShapingConfig.fromJSON(json) == ShapingConfig())
    }

    @Test func turnLayoutReadsTurnsObservationsAndPadding() {
        let l = TurnLayout(mask: [0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 0])
        #expect(l.turns == [1..<3, 5..<6, 7..<9])
        #expect(l.observations == [3..<5, 6..<7])
        #expect(l.segments == [0..<3, 5..<6, 7..<11])
        #expect(l.turnIndex == [-1, 0, 0, -1, -1, 1, -1, 2, 2, -1, -1])
        #expect(TurnLayout(mask: [1, 1, 0, 0]).segments == [0..<4])
        #expect(!TurnLayout(mask: [0, 1, 1, 0]).isMultiTurn)
        #expect(TurnLayout(mask: [0, 0]).turns.isEmpty && TurnLayout(mask: [0, 0]).segments == [0..<2])
        #expect(TurnLayout(mask: []).segments == [0..<0])
    }

    /// The issue's "Done when": case A's response, an observation, case B's response, … give every
    /// turn the categories and reward of that case sent alone; observations are 10 with weight 0;
    /// the row's positive weights average 1.
    @Test(arguments: ["aligned", "released"])
    func turnsMatchTheirCasesSentAlone(profile: String) throws {
        let tok = try TestFixtures.qwenTokenizer()
        let padID = try #require(tok.id(forAddedToken: "<|endoftext|>"))
        let cases = try Self.vectorCases()
        let byID = Dictionary(uniqueKeysWithValues: cases.map { ($0.id, $0) })
        let picks = [["v01_single_call", "v12_call_and_response", "v02_two_calls_lines"],
                     ["v08_missing_think_close", "v05_chinese_args"],
                     ["v09_missing_tool_call_close", "v23_two_tool_call_blocks", "v11_response_only", "v26_pretty_printed_json"]]
        let obs = [Self.observation(tok, "{\"temperature\": 21}"),
                   Self.observation(tok, "<think> an unclosed tag in a tool output <tool_call> {\"name\": \"x\""),
                   Self.observation(tok, "</think></tool_call><response>")]
        var rows: [(ids: [Int32], mask: [Float])] = []
        var turnGTs: [[String?]] = []
        for p in picks {
            let cs = try p.map { try #require(byID[$0]) }
            rows.append(Self.row(cs.map(\.response), observations: obs, pad: 2, padID: padID))
            turnGTs.append(cs.map(\.ground_truth))
        }
        let b = Self.batch(rows, padID: padID)
        let engine = ShapingEngine(tokenizer: tok, threads: 2)
        let multi = try engine.shape(ShapeRequest(inputIDs: b.ids, mask: b.mask, batch: rows.count, length: b.t,
                                                  groundTruths: turnGTs.map { $0.last!! }, step: 100,
                                                  options: ShapeOptions(profile: profile), turnGroundTruths: turnGTs))
        let turns = try #require(multi.turns)
        #expect(turns.k == 4)
        for (r, p) in picks.enumerated() {
            let span = r * b.t..<(r + 1) * b.t
            let layout = TurnLayout(mask: Array(b.mask[span]))
            #expect(layout.turns.count == p.count)
            var sum = 0.0
            for (k, id) in p.enumerated() {
                let c = try #require(byID[id])
                // The case alone, as the golden vector sends it (its own padding included).
                let alone = try engine.shape(ShapeRequest(inputIDs: c.token_ids, mask: c.loss_mask, batch: 1, length: c.token_ids.count,
                                                          groundTruths: [c.ground_truth], step: 100, options: ShapeOptions(profile: profile)))
                let valid = c.loss_mask.indices.filter { c.loss_mask[$0] != 0 }
                let turn = layout.turns[k]
                #expect(turn.count == valid.count)
                let got = turn.map { multi.categories[r * b.t + $0] }
                #expect(got == valid.map { alone.categories[$0] }, "row \(r) turn \(k) (\(id))")
                #expect(turns.rewards[r * turns.k + k] == alone.rewards[0], "row \(r) turn \(k) (\(id))")
                #expect(Double(alone.rewards[0]) == c.rewards["default"]?.score)
                #expect(turns.ends[r * turns.k + k] == Int32(turn.upperBound - 1))
                sum += Double(alone.rewards[0])
            }
            for k in p.count..<turns.k { #expect(turns.ends[r * turns.k + k] == -1 && turns.rewards[r * turns.k + k] == 0) }
            // mean (the default) over the turns, all of which have a ground truth
            #expect(abs(Double(multi.rewards[r]) - sum / Double(p.count)) < 1e-6)
            #expect(multi.components[r * 4 + 3] == multi.rewards[r])
            for o in layout.observations {
                for i in o {
                    #expect(multi.categories[r * b.t + i] == TokenCategory.observation.rawValue)
                    #expect(multi.weights[r * b.t + i] == 0)
                }
            }
            let positive = multi.weights[span].filter { $0 > 0 }
            #expect(!positive.isEmpty)
            #expect(abs(positive.reduce(0.0) { $0 + Double($1) } / Double(positive.count) - 1) < 1e-5)
            #expect(multi.rolloutStatus[r].isOK, "\(multi.rolloutStatus[r])")
        }
        // Observations are in no region statistic.
        #expect(multi.metrics.tokenCounts["observation"] == nil)
        #expect(multi.metrics.tokenCounts.values.reduce(0, +) == Int(b.mask.filter { $0 != 0 }.count))
    }

    /// `released` on a multi-turn row: each turn weighted as the released code weights it alone,
    /// then one normalisation over the row. With normalisation off the row is exactly the
    /// concatenation of the turns' released weights.
    @Test func releasedTurnsAreTheReleasedWeightsOfEachTurnAlone() throws {
        let tok = try TestFixtures.qwenTokenizer()
        let padID = try #require(tok.id(forAddedToken: "<|endoftext|>"))
        let cases = try Self.vectorCases()
        let a = cases[0], b = cases[1], c = cases[2]
        let obs = [Self.observation(tok, "ok"), Self.observation(tok, "<think>")]
        let row = Self.row([a.response, b.response, c.response], observations: obs, pad: 3, padID: padID)
        var raw = ShapingConfig.released
        raw.normalization = .none
        for config in [raw, ShapingConfig.released] {
            let profile = try ReleasedProfile(config: config)
            let (w, o) = profile.weights(ids: row.ids, mask: row.mask, codec: tok, step: ShapingStep(step: 200))
            #expect(o == .ok)
            let layout = TurnLayout(mask: row.mask)
            let segs = layout.segments
            var ratios: [Float] = []
            for (k, seg) in segs.enumerated() {
                let ids = Array(row.ids[seg]), mask = Array(row.mask[seg])
                let (alone, ao) = profile.weights(ids: ids, mask: mask, codec: tok, step: ShapingStep(step: 200))
                #expect(ao == .ok)
                let got = Array(w[seg])
                #expect(got.map { $0 == 0 } == alone.map { $0 == 0 }, "turn \(k)")
                if config.normalization == .none {
                    #expect(got == alone, "turn \(k)")
                } else {
                    // Same γ's, another mean: a constant ratio per turn.
                    let rs = zip(got, alone).filter { $0.1 > 0 }.map { $0.0 / $0.1 }
                    if let r0 = rs.first { #expect(rs.allSatisfy { abs($0 - r0) <= 1e-6 * r0 }); ratios.append(r0) }
                }
            }
            for o in layout.observations { #expect(w[o].allSatisfy { $0 == 0 }) }
            if config.normalization == .mean {
                let positive = w.filter { $0 > 0 }
                #expect(abs(positive.reduce(0.0) { $0 + Double($1) } / Double(positive.count) - 1) < 1e-5)
                #expect(ratios.count == 3)
            }
        }
    }

    /// Fuzz: whatever bytes sit inside the observations (random ids, tags, special tokens), the
    /// turns' categories do not change, under either profile.
    @Test func observationContentNeverChangesTurnCategories() throws {
        let tok = try TestFixtures.qwenTokenizer()
        let padID = try #require(tok.id(forAddedToken: "<|endoftext|>"))
        let cases = try Self.vectorCases()
        let turns = [cases[7].response, cases[8].response, cases[13].response]  // unclosed think, unclosed tool call, malformed JSON
        let tricky = ["<think>", "</think>", "<tool_call>", "</tool_call>", "<response>", "{\"name\": \"", "\"arguments\": {", "\"", "\\", "<|im_end|>", "<|im_start|>"]
            .flatMap { tok.encode($0).ids }
        let engine = ShapingEngine(tokenizer: tok, threads: 1)
        let base = Self.row(turns, observations: [[padID], [padID]], pad: 0, padID: padID)
        let reference = try engine.shape(ShapeRequest(inputIDs: base.ids, mask: base.mask, batch: 1, length: base.ids.count,
                                                      groundTruths: [""], step: 0, options: ShapeOptions(computeRewards: false)))
        let refTurns = TurnLayout(mask: base.mask).turns.map { r in r.map { reference.categories[$0] } }
        var rng = SystemRandomNumberGenerator()
        var checked = 0
        for _ in 0..<200 {
            var obs: [[Int32]] = []
            for _ in 0..<2 {
                let n = Int.random(in: 1...40, using: &rng)
                var o: [Int32] = []
                while o.count < n {
                    if Bool.random(using: &rng) { o.append(tricky.randomElement(using: &rng)!) }
                    else {
                        let id = Int32.random(in: 0..<Int32(tok.vocabSize), using: &rng)
                        if tok.contains(id) { o.append(id) }
                    }
                }
                obs.append(o)
            }
            let row = Self.row(turns, observations: obs, pad: Int.random(in: 0...3, using: &rng), padID: padID)
            let layout = TurnLayout(mask: row.mask)
            #expect(layout.turns.count == 3)
            let r = try engine.shape(ShapeRequest(inputIDs: row.ids, mask: row.mask, batch: 1, length: row.ids.count,
                                                  groundTruths: [""], step: 0, options: ShapeOptions(computeRewards: false)))
            #expect(layout.turns.map { t in t.map { r.categories[$0] } } == refTurns)
            for o in layout.observations { #expect(o.allSatisfy { r.categories[$0] == TokenCategory.observation.rawValue && r.weights[$0] == 0 }) }
            checked += 1
        }
        #expect(checked == 200)
    }

    /// Without `turn_ground_truth` the row's ground truth scores the last turn; `turn_reward`
    /// chooses mean, last or sum; single-turn batches carry no turn table.
    @Test func turnRewardOptionsAndDefaults() throws {
        let tok = try TestFixtures.qwenTokenizer()
        let padID = try #require(tok.id(forAddedToken: "<|endoftext|>"))
        let cases = try Self.vectorCases()
        let good = cases[0], bad = cases[13]  // 4.0 and a lower score
        let row = Self.row([bad.response, good.response], observations: [Self.observation(tok, "x")], pad: 1, padID: padID)
        let engine = ShapingEngine(tokenizer: tok)
        func run(_ agg: TurnRewardAggregation, _ tgt: [[String?]]?) throws -> ShapeResult {
            try engine.shape(ShapeRequest(inputIDs: row.ids, mask: row.mask, batch: 1, length: row.ids.count,
                                          groundTruths: [good.ground_truth], step: 0, options: ShapeOptions(turnReward: agg),
                                          turnGroundTruths: tgt))
        }
        let sBad = Float(try #require(bad.rewards["default"]).score), sGood = Float(try #require(good.rewards["default"]).score)
        #expect(sBad != sGood)
        // Default: ground_truth scores the last turn only.
        let d = try run(.mean, nil)
        #expect(d.turns?.rewards == [0, sGood])
        #expect(d.rewards == [sGood])
        let both: [[String?]] = [[bad.ground_truth, good.ground_truth]]
        #expect(try run(.mean, both).rewards == [(sBad + sGood) / 2])
        #expect(try run(.sum, both).rewards == [sBad + sGood])
        #expect(try run(.last, both).rewards == [sGood])
        // A turn without ground truth (null) gets no reward and is not averaged.
        let onlyFirst = try run(.mean, [[bad.ground_truth, nil]])
        #expect(onlyFirst.turns?.rewards == [sBad, 0] && onlyFirst.rewards == [sBad])
        #expect(try run(.last, [[bad.ground_truth, nil]]).rewards == [0])
        // The wrong number of turn ground truths is a typed request error.
        #expect(throws: ShapeError.shape("turn_ground_truth[0] has 1 entries, row 0 has 2 turns")) { try run(.mean, [[good.ground_truth]]) }
        #expect(throws: ShapeError.self) { try run(.mean, []) }
        // Single-turn rows: no turn table, and per-turn ground truths give the same reward.
        let single = try engine.shape(ShapeRequest(inputIDs: good.token_ids, mask: good.loss_mask, batch: 1, length: good.token_ids.count,
                                                   groundTruths: [good.ground_truth], step: 0))
        let singleTurnGT = try engine.shape(ShapeRequest(inputIDs: good.token_ids, mask: good.loss_mask, batch: 1, length: good.token_ids.count,
                                                         groundTruths: [""], step: 0, turnGroundTruths: [[good.ground_truth]]))
        #expect(single.turns == nil && singleTurnGT.turns == nil)
        #expect(single.rewards == singleTurnGT.rewards && single.components == singleTurnGT.components)
        #expect(single.weights == singleTurnGT.weights && single.categories == singleTurnGT.categories)
    }
}
