/// One training prompt: ChatML prompt text plus the ground truth the ToolRL reward receives.
public struct TaskExample: Sendable, Equatable {
    /// The full ChatML prompt, ending with `<|im_start|>assistant\n`.
    public var prompt: String
    /// Reference response (rlla `reward_model.ground_truth` format).
    public var groundTruth: String
    public init(prompt: String, groundTruth: String) { self.prompt = prompt; self.groundTruth = groundTruth }
}

/// The built-in synthetic tool-calling task, small enough to learn on a CPU.
///
/// The system turn lists three tools; the user asks for one of them with a three-digit argument
/// (`play song 472`). The right answer picks the tool named by the request and copies the digits:
///
///     <think> play song </think>
///     <tool_call>
///     {"name": "play_song", "parameters": {"song": "472"}}
///     </tool_call><|im_end|>
///
/// Every piece of the text is a single Qwen3 token (see ``vocabulary``): the model needs a
/// 50-entry vocabulary, yet the shaping core scores genuine Qwen ids.
public struct SyntheticToolTask: Sendable {
    struct Tool: Sendable { let verb: String, noun: String, name: String, param: String }
    static let tools = [
        Tool(verb: "get", noun: "weather", name: "get_weather", param: "city"),
        Tool(verb: "find", noun: "book", name: "find_book", param: "title"),
        Tool(verb: "play", noun: "song", name: "play_song", param: "song"),
    ]

    /// Pieces of the task and their Qwen3 ids (checked against the Qwen3 tiktoken ranks and
    /// added-token table in shared/tokenizer when this table was written).
    public static let vocabulary = PieceVocabulary([
        ("<|endoftext|>", 151643), ("<|im_start|>", 151644), ("<|im_end|>", 151645),
        ("<tool_call>", 151657), ("</tool_call>", 151658), ("<think>", 151667), ("</think>", 151668),
        ("\n", 198), (" ", 220), ("0", 15), ("1", 16), ("2", 17), ("3", 18), ("4", 19), ("5", 20),
        ("6", 21), ("7", 22), ("8", 23), ("9", 24), ("system", 8948), ("user", 872), ("assistant", 77091),
        ("Tools", 16583), (":", 25), ("(", 7), (")", 8), (",", 11), (" get", 633), ("_weather", 69364),
        (" find", 1477), ("_book", 26421), (" play", 1486), ("_song", 57102), ("get", 455), ("find", 3903),
        ("play", 1363), ("city", 8926), ("title", 2102), ("song", 31751), (" weather", 9104), (" book", 2311),
        (" song", 5492), ("{\"", 4913), ("name", 606), ("\":", 788), (" \"", 330), ("\",", 497),
        ("parameters", 13786), (" {\"", 5212), ("\"}}", 30975),
    ])

    /// Number of digits in the argument to copy.
    public var digits: Int
    public init(digits: Int = 3) { self.digits = digits }

    static let system = "Tools: " + tools.map { "\($0.verb)_\($0.noun)(\($0.param))" }.joined(separator: ", ")

    /// A deterministic example for `index` (the tool and digits come from a hash of it).
    public func example(_ index: Int, seed: UInt64 = 0) -> TaskExample {
        var rng = TrainerRNG(seed: seed &+ UInt64(index) &* 0x9E37_79B9)
        _ = rng.next()
        let tool = Self.tools[Int(rng.next() % UInt64(Self.tools.count))]
        let arg = (0..<digits).map { _ in String(rng.next() % 10) }.joined()
        return TaskExample(prompt: Self.prompt(tool: tool, arg: arg), groundTruth: Self.answer(tool: tool, arg: arg))
    }

    static func prompt(tool: Tool, arg: String) -> String {
        "<|im_start|>system\n" + system + "<|im_end|>\n<|im_start|>user\n\(tool.verb) \(tool.noun) \(arg)<|im_end|>\n<|im_start|>assistant\n"
    }

    static func answer(tool: Tool, arg: String) -> String {
        "<think> \(tool.verb) \(tool.noun) </think>\n<tool_call>\n{\"name\": \"\(tool.name)\", \"parameters\": {\"\(tool.param)\": \"\(arg)\"}}\n</tool_call>"
    }
}
