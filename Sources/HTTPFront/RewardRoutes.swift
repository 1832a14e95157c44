import Pipeline
import PyJSON
import Rewards
import Wire

/// What a reward route hands the engine: the texts to score and their ground truths.
struct TextBatch: Sendable {
    var solutions: [String]
    var labels: [String]
}

/// OpenRLHF's remote reward model (`--reward.remote_url URL`, before 0.10.2 `--remote_rm_url URL`).
///
/// Request: `{"query": [str], "prompts": [str], "labels": [str]}`. `query[i]` is
/// `tokenizer.decode(prompt_ids + response_ids, skip_special_tokens=False)`: the chat-templated
/// prompt and the response, so it is scored as the reward manager's `solution_str`, unsplit.
/// `prompts` (the prompt text alone) is checked for length and otherwise unused.
/// Reply: `{"rewards": [float], "scores": [float], "extra_logs": {"format", "correctness", "length",
/// "reward_error": [float]}, "step": int}` plus `"errors": [{"index", "code", "message"}]` when a
/// row's reward raised (its values are then 0, as in the sidecar's per-rollout status).
enum OpenRLHFRoute {
    static func parse(_ body: JSONValue, maxBatch: Int) throws(HTTPFrontError) -> TextBatch {
        guard case .object(let o) = body else { throw HTTPFrontError(.badHeader, "body must be a JSON object {\"query\", \"prompts\", \"labels\"}") }
        let query = try strings(o["query"], "query")
        let labels = try strings(o["labels"], "labels",
                                 hint: " (start OpenRLHF with --data.label_key, formerly --label_key, naming the ground-truth column)")
        guard query.count == labels.count else { throw HTTPFrontError(.shape, "\(query.count) queries but \(labels.count) labels") }
        if let p = o["prompts"], !p.isNull {
            let prompts = try strings(p, "prompts")
            guard prompts.count == query.count else { throw HTTPFrontError(.shape, "\(query.count) queries but \(prompts.count) prompts") }
        }
        guard query.count <= maxBatch else { throw HTTPFrontError(.limit, "\(query.count) rows exceed --max-batch \(maxBatch)") }
        return TextBatch(solutions: query, labels: labels)
    }

    static func reply(_ r: TextRewardResult, step: Int) -> JSONValue {
        let c = r.components
        func column(_ f: (RewardComponents) -> Double) -> JSONValue { .array(c.map { .double(f($0)) }) }
        let errorFlags: JSONValue = .array(r.status.map { .double($0.isOK ? 0 : 1) })
        var out: [(String, JSONValue)] = [
            ("rewards", column(\.score)),
            ("scores", column(\.score)),
            ("extra_logs", .object(JSONObject([("format", column(\.format)), ("correctness", column(\.correctness)),
                                              ("length", column(\.length)), ("reward_error", errorFlags)]))),
            ("step", .int(step)),
        ]
        let errors: [JSONValue] = r.status.enumerated().compactMap { i, s in
            s.isOK ? nil : .object(JSONObject([("index", .int(i)), ("code", .string(s.code)), ("message", .string(s.message))]))
        }
        if !errors.isEmpty { out.append(("errors", .array(errors))) }
        return .object(JSONObject(out))
    }

    static func strings(_ value: JSONValue?, _ key: String, hint: String = "") throws(HTTPFrontError) -> [String] {
        guard let value else { throw HTTPFrontError(.badHeader, "missing key '\(key)'\(hint)") }
        guard case .array(let items) = value else { throw HTTPFrontError(.badHeader, "'\(key)' must be a list of strings\(hint)") }
        var out: [String] = []
        out.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            guard case .string(let s) = item else {
                throw HTTPFrontError(.badHeader, "'\(key)'[\(i)] is \(item.pyTypeName), expected a string\(hint)")
            }
            out.append(s)
        }
        return out
    }
}

/// slime's remote reward model (`--rm-type remote_rm --rm-url URL`).
///
/// Request: `{"prompt": str, "response": str, "label": str}`, one sample per request; the scored
/// `solution_str` is `prompt + response`, so the prompt must be the chat-templated text
/// (slime's `--apply-chat-template`); a list of messages is refused with that hint.
/// Reply: `{"reward", "format", "correctness", "length", "step"}` (slime's `--reward-key reward`
/// selects the reward), plus `"error": {"code", "message"}` when the reward raised (values 0);
/// with `plain=1` the bare reward number.
enum SlimeRoute {
    static func parse(_ body: JSONValue) throws(HTTPFrontError) -> TextBatch {
        guard case .object(let o) = body else { throw HTTPFrontError(.badHeader, "body must be a JSON object {\"prompt\", \"response\", \"label\"}") }
        let prompt: String
        switch o["prompt"] {
        case .string(let s)?: prompt = s
        case .array?:
            throw HTTPFrontError(.badHeader, "'prompt' is a list of messages: start slime with --apply-chat-template so that prompt + response is the text the reward scores")
        case let v?: throw HTTPFrontError(.badHeader, "'prompt' is \(v.pyTypeName), expected a string")
        case nil: throw HTTPFrontError(.badHeader, "missing key 'prompt'")
        }
        guard case .string(let response)? = o["response"] else { throw HTTPFrontError(.badHeader, "missing or non-string 'response'") }
        guard case .string(let label)? = o["label"] else {
            throw HTTPFrontError(.badHeader, "missing or non-string 'label' (slime's --label-key must name the ground-truth column)")
        }
        return TextBatch(solutions: [prompt + response], labels: [label])
    }

    static func reply(_ r: TextRewardResult, step: Int, plain: Bool) -> JSONValue {
        let c = r.components.first ?? RewardComponents(score: 0, format: 0, correctness: 0, length: 0)
        if plain { return .double(c.score) }
        var out: [(String, JSONValue)] = [("reward", .double(c.score)), ("format", .double(c.format)),
                                          ("correctness", .double(c.correctness)), ("length", .double(c.length)),
                                          ("step", .int(step))]
        if let s = r.status.first, !s.isOK {
            out.append(("error", .object(JSONObject([("code", .string(s.code)), ("message", .string(s.message))]))))
        }
        return .object(JSONObject(out))
    }
}
