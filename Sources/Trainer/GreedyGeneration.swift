import PyJSON

/// One chat message as a chat template receives it (`role`: system, user, assistant or tool).
public struct ChatMessage: Sendable, Equatable {
    public var role: String
    public var content: String
    public init(role: String, content: String) { self.role = role; self.content = content }
}

/// The Qwen3 chat template (ChatML with Qwen's Hermes-style tool block), rendered as the
/// HuggingFace `chat_template` of the Qwen3 models does for a prompt without earlier
/// assistant turns: `apply_chat_template(messages, tools=tools, add_generation_prompt=True)`.
///
/// What is reproduced: the system block (the first system message, then `# Tools … <tools>`
/// with one `tojson` line per tool — `json.dumps(tool, ensure_ascii=False)` — and the
/// `<tool_call>` instruction), user/system turns, consecutive `tool` messages grouped into one
/// user turn of `<tool_response>` blocks, and the generation prompt (`<think>\n\n</think>\n\n`
/// appended when thinking is disabled). Earlier assistant turns are written verbatim (the
/// official template also re-renders their `tool_calls` and strips old reasoning; evaluation
/// prompts here never contain assistant turns).
public enum Qwen3ChatTemplate {
    /// Text between `<|im_start|>system\n[system content\n\n]` and the first tool line.
    public static let toolsHeader = "# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>"
    /// Text after the last tool line, up to the system turn's `<|im_end|>`.
    public static let toolsFooter = "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>"

    /// A function schema wrapped as an OpenAI-style tool, `{"type": "function", "function": schema}`:
    /// the form `tools=` takes in HF `apply_chat_template` and vLLM, and so what the template writes.
    public static func openAITool(_ schema: JSONValue) -> JSONValue {
        .object(JSONObject([("type", .string("function")), ("function", schema)]))
    }

    /// Renders `messages` (and `tools`, each written as given: pass OpenAI-style
    /// `{"type": "function", "function": {...}}` objects to match what HF/vLLM render).
    /// `asciiToolJSON` writes the tools as Python's default `json.dumps` does (non-ASCII as
    /// `\uXXXX`), as BFCL's `QwenFCHandler` builds the same prompt by hand; HF's `tojson` keeps them.
    public static func render(messages: [ChatMessage], tools: [JSONValue] = [],
                              addGenerationPrompt: Bool = true, enableThinking: Bool = true,
                              asciiToolJSON: Bool = false) -> String {
        var out = ""
        var rest = messages[...]
        if !tools.isEmpty {
            out += "<|im_start|>system\n"
            if let first = rest.first, first.role == "system" { out += first.content + "\n\n"; rest = rest.dropFirst() }
            out += toolsHeader
            for tool in tools { out += "\n" + PyJSON.dumps(tool, ensureASCII: asciiToolJSON) }
            out += toolsFooter + "<|im_end|>\n"
        } else if let first = rest.first, first.role == "system" {
            out += "<|im_start|>system\n" + first.content + "<|im_end|>\n"
            rest = rest.dropFirst()
        }
        let list = Array(rest)
        for (i, m) in list.enumerated() {
            switch m.role {
            case "tool":
                // Consecutive tool results share one user turn.
                let opens = i == 0 || list[i - 1].role != "tool"
                let closes = i == list.count - 1 || list[i + 1].role != "tool"
                if opens { out += "<|im_start|>user" }
                out += "\n<tool_response>\n" + m.content + "\n</tool_response>"
                if closes { out += "<|im_end|>\n" }
            default:
                out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n"
            }
        }
        if addGenerationPrompt {
            out += "<|im_start|>assistant\n"
            if !enableThinking { out += "<think>\n\n</think>\n\n" }
        }
        return out
    }
}

extension Qwen3ChatTemplate {
    /// The answer without its reasoning: the text after the last `</think>`, leading newlines
    /// removed (unchanged when there is no `</think>`) — what BFCL's Qwen handlers keep as the
    /// model's response (`split("</think>")[-1].lstrip("\n")`).
    public static func stripReasoning(_ text: String) -> String {
        guard let end = text.range(of: "</think>", options: .backwards) else { return text }
        return String(text[end.upperBound...].drop { $0 == "\n" })
    }
}

/// Why a generation ended.
public enum FinishReason: Sendable, Equatable {
    /// A stop token was produced (its id; it is not part of the text).
    case stop(Int32)
    /// `maxNewTokens` were produced without a stop token.
    case length
}

/// One greedy continuation: the new ids (without the stop token) and their text.
public struct Generation: Sendable, Equatable {
    public var ids: [Int32]
    public var text: String
    public var finish: FinishReason
    public var promptTokens: Int
}

/// Greedy (argmax) decoding with the KV cache: ``Sampler`` at temperature 0, which picks the
/// first maximal logit. Deterministic for a given model, prompt and backend; a batch of prompts
/// of different lengths (left-padded, each row masked and positioned as if alone) gives the same
/// ids as generating each prompt by itself.
public struct GreedyGenerator: Sendable {
    public let model: Qwen3Model
    public let codec: any TextCodec
    public var maxNewTokens: Int
    public var stopIDs: Set<Int32>

    /// The Qwen3 end-of-turn tokens: generation stops at the first of these.
    public static let defaultStopTokens = ["<|im_end|>", "<|endoftext|>"]

    /// `stopTokens` that the codec does not know are ignored; at least one must be known.
    public init(model: Qwen3Model, codec: any TextCodec, maxNewTokens: Int = 256,
                stopTokens: [String] = GreedyGenerator.defaultStopTokens) throws(TrainerError) {
        guard maxNewTokens > 0 else { throw .data("maxNewTokens must be positive") }
        let ids = stopTokens.compactMap { codec.specialID($0) }
        guard !ids.isEmpty else { throw .tokenizer("the tokenizer has none of the stop tokens \(stopTokens)") }
        self.init(model: model, codec: codec, maxNewTokens: maxNewTokens, stopIDs: Set(ids))
    }

    /// Explicit stop ids (may be empty: then only `maxNewTokens` ends a generation).
    public init(model: Qwen3Model, codec: any TextCodec, maxNewTokens: Int, stopIDs: Set<Int32>) {
        self.model = model; self.codec = codec; self.maxNewTokens = maxNewTokens; self.stopIDs = stopIDs
    }

    /// Encodes `prompt` (special tokens such as `<|im_start|>` become their ids) and continues it.
    public func generate(prompt: String) throws -> Generation {
        try generate(promptIDs: try codec.encode(prompt))
    }

    /// Continues `promptIDs` greedily until a stop id or `maxNewTokens`.
    public func generate(promptIDs: [Int32]) throws -> Generation {
        try generate(batch: [promptIDs])[0]
    }

    /// Encodes and continues every prompt in one batch.
    public func generate(prompts: [String]) throws -> [Generation] {
        try generate(batch: prompts.map { try codec.encode($0) })
    }

    /// Continues every prompt greedily, all in one batch; results in the prompts' order.
    public func generate(batch: [[Int32]]) throws -> [Generation] {
        guard !batch.isEmpty, batch.allSatisfy({ !$0.isEmpty }) else { throw TrainerError.data("empty prompt") }
        var rng = TrainerRNG(seed: 0)  // not drawn from at temperature 0
        let options = SamplingOptions(temperature: 0, topP: 1, maxNewTokens: maxNewTokens)
        let rollouts = try Sampler(model: model).sample(prompts: batch, n: 1, options: options, stopIDs: stopIDs, rng: &rng)
        return zip(batch, rollouts).map { prompt, r in
            var ids = r.ids
            if case .stop = r.finish { ids.removeLast() }
            // A model vocabulary padded past the tokenizer's (e.g. 151936 vs 151669) can emit ids the
            // tokenizer cannot decode; they carry no text, so they are left out of `text` only.
            let decodable = ids.filter { $0 >= 0 && Int($0) < codec.vocabularySize }
            return Generation(ids: ids, text: codec.decode(decodable), finish: r.finish, promptTokens: prompt.count)
        }
    }
}
