import ArgumentParser
import Console
import Foundation
import Pipeline
import PyJSON
import Regions
import Tokenization

/// `rest-shaper shape`: offline batch mode. Reads rollouts as JSON lines, shapes them in batches
/// through the same engine as the sidecar, and writes one JSON line per rollout.
///
/// Input line: `{"id": …, "token_ids": [...], "loss_mask": [...] (default all 1), "ground_truth": "...",
/// "step": N (default --step), "entropies": [...] (optional), "prompt_ids": [...] (optional),
/// "turn_ground_truth": [string or null per turn] (optional, multi-turn rows)}`.
/// Output line: `{"id", "weights", "categories", "reward", "components": {format, correctness, length, score}, "status"}`,
/// plus `"turn_rewards"` and `"turn_ends"` for a row with more than one turn (interior zeros in its mask).
/// Rows of a batch are right-padded with `<|endoftext|>` under mask 0, as a VERL batch is; the
/// output is trimmed back to each row's length.
struct ShapeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shape",
        abstract: "Offline batch mode: rollouts.jsonl in, weights and rewards out (JSON lines)."
    )

    @Option(help: "Input rollouts, one JSON object per line.") var input: String
    @Option(help: "Output file (JSON lines).") var output: String
    @Option(help: "Tokenizer: tokenizer.json or qwen.tiktoken.") var tokenizer: String
    @Option(help: "Weight profile: aligned, released, uniform.") var profile = "aligned"
    @Option(help: "Reward variant: rest or toolrl.") var reward = "rest"
    @Option(help: "Training step for rows without their own `step`.") var step = 0
    @Option(help: "Reward flags, comma-separated env names (e.g. SCHEDULEREWARD,WITHLENGTH).") var rewardFlags = ""
    @Option(help: "Schedule/shaping config (JSON).") var config: String?
    @Option(help: "How a multi-turn row's turn rewards make its reward: mean, last, sum.") var turnReward = "mean"
    @Option(help: "Rows per batch.") var batch = 256
    @Option(help: "Worker threads (0 = all cores).") var threads = 0
    @OptionGroup var progress: ProgressOptions

    func run() throws {
        guard let turnAggregation = TurnRewardAggregation(rawValue: turnReward) else {
            throw ValidationError("--turn-reward must be mean, last or sum")
        }
        let tok = try Tokenizer.load(path: tokenizer)
        let scheduleJSON = try config.map { try String(contentsOfFile: $0, encoding: .utf8) }
        let flags = Dictionary(uniqueKeysWithValues: rewardFlags.split(separator: ",").map { (String($0).trimmingCharacters(in: .whitespaces), true) })
        let engine = ShapingEngine(tokenizer: tok, threads: threads)
        guard let text = try? String(contentsOfFile: input, encoding: .utf8) else { throw ValidationError("cannot read \(input)") }
        let lines = text.split(separator: "\n").filter { !$0.allSatisfy(\.isWhitespace) }
        guard FileManager.default.createFile(atPath: output, contents: nil), let out = FileHandle(forWritingAtPath: output) else {
            throw ValidationError("cannot write \(output)")
        }
        defer { try? out.close() }
        let pad = tok.id(forAddedToken: "<|endoftext|>") ?? 0
        var index = 0
        let meter = progress.meter("shape", total: lines.count, unit: .items("rows"))
        while index < lines.count {
            let chunk = lines[index..<min(lines.count, index + batch)]
            let rows = try chunk.enumerated().map { (i, line) in try Row(json: String(line), line: index + i + 1, defaultStep: step) }
            // One request per distinct step (the step is a batch-level field).
            for stepGroup in Dictionary(grouping: rows.indices, by: { rows[$0].step }).sorted(by: { $0.key < $1.key }) {
                let members = stepGroup.value
                let t = members.map { rows[$0].ids.count }.max() ?? 0
                var ids = [Int32](repeating: pad, count: members.count * t)
                var mask = [Float](repeating: 0, count: members.count * t)
                var ent: [Float]? = members.contains { rows[$0].entropies != nil } ? [Float](repeating: 0, count: members.count * t) : nil
                for (b, r) in members.enumerated() {
                    let row = rows[r]
                    for j in 0..<row.ids.count { ids[b * t + j] = row.ids[j]; mask[b * t + j] = row.mask[j] }
                    if let e = row.entropies { for j in 0..<e.count { ent![b * t + j] = e[j] } }
                }
                let prompts = members.contains { rows[$0].promptIDs != nil } ? members.map { rows[$0].promptIDs ?? [] } : nil
                // Per-turn ground truths are per request: rows without get theirs on the last turn.
                let turnGTs: [[String?]]? = members.contains { rows[$0].turnGroundTruth != nil } ? members.map { r in
                    if let g = rows[r].turnGroundTruth { return g }
                    let n = TurnLayout(mask: rows[r].mask).turns.count
                    return (0..<n).map { $0 == n - 1 ? rows[r].groundTruth : nil }
                } : nil
                let request = ShapeRequest(inputIDs: ids, mask: mask, batch: members.count, length: t,
                                           groundTruths: members.map { rows[$0].groundTruth }, step: stepGroup.key,
                                           entropy: ent.map { .entropies($0) } ?? .none, promptIDs: prompts,
                                           options: ShapeOptions(profile: profile, reward: reward, rewardFlags: flags, scheduleJSON: scheduleJSON,
                                                                 turnReward: turnAggregation),
                                           turnGroundTruths: turnGTs)
                let result = try engine.shape(request)
                var outLines: [(Int, String)] = []
                for (b, r) in members.enumerated() {
                    let n = rows[r].ids.count
                    var o = JSONObject()
                    o["id"] = rows[r].id
                    o["weights"] = .array(result.weights[(b * t)..<(b * t + n)].map { .double(Double($0)) })
                    o["categories"] = .array(result.categories[(b * t)..<(b * t + n)].map { .int(Int($0)) })
                    o["reward"] = .double(Double(result.rewards[b]))
                    var c = JSONObject()
                    for (k, name) in ["format", "correctness", "length", "score"].enumerated() { c[name] = .double(Double(result.components[b * 4 + k])) }
                    o["components"] = .object(c)
                    if let turns = result.turns {
                        let k = TurnLayout(mask: rows[r].mask).turns.count
                        if k > 1 {
                            o["turn_rewards"] = .array((0..<k).map { .double(Double(turns.rewards[b * turns.k + $0])) })
                            o["turn_ends"] = .array((0..<k).map { .int(Int(turns.ends[b * turns.k + $0])) })
                        }
                    }
                    let st = result.rolloutStatus[b]
                    o["status"] = .string(st.code)
                    if !st.isOK { o["message"] = .string(st.message) }
                    outLines.append((r, PyJSON.dumps(.object(o))))
                }
                for (_, line) in outLines.sorted(by: { $0.0 < $1.0 }) { out.write(Data((line + "\n").utf8)) }
            }
            index += chunk.count
            meter.update(index)
        }
        meter.finish()
    }

    /// One input rollout.
    struct Row {
        var id: JSONValue
        var ids: [Int32]
        var mask: [Float]
        var groundTruth: String
        var step: Int
        var entropies: [Float]?
        var promptIDs: [Int32]?
        var turnGroundTruth: [String?]?

        init(json: String, line: Int, defaultStep: Int) throws {
            let v: JSONValue
            do { v = try PyJSON.loads(json) } catch { throw ValidationError("line \(line): \(error)") }
            guard let ids = v["token_ids"]?.arrayValue?.compactMap({ $0.intValue.map(Int32.init) }) else {
                throw ValidationError("line \(line): missing token_ids")
            }
            self.id = v["id"] ?? .int(line)
            self.ids = ids
            self.mask = v["loss_mask"]?.arrayValue?.compactMap { $0.doubleValue.map(Float.init) } ?? [Float](repeating: 1, count: ids.count)
            guard mask.count == ids.count else { throw ValidationError("line \(line): loss_mask length differs from token_ids") }
            self.groundTruth = v["ground_truth"]?.stringValue ?? ""
            self.step = v["step"]?.intValue ?? defaultStep
            self.entropies = v["entropies"]?.arrayValue?.compactMap { $0.doubleValue.map(Float.init) }
            if let e = entropies, e.count != ids.count { throw ValidationError("line \(line): entropies length differs from token_ids") }
            self.promptIDs = v["prompt_ids"]?.arrayValue?.compactMap { $0.intValue.map(Int32.init) }
            if let list = v["turn_ground_truth"]?.arrayValue {
                self.turnGroundTruth = try list.map { g -> String? in
                    if case .null = g { return nil }
                    guard let s = g.stringValue else { throw ValidationError("line \(line): turn_ground_truth holds strings or null") }
                    return s
                }
            }
        }
    }
}
