/// The region a response token belongs to. The raw values are part of the wire protocol and of the
/// capture format: never renumber them.
public enum TokenCategory: UInt8, Sendable, CaseIterable {
    case outside = 0
    case thinkTag = 1
    case thinkContent = 2
    case toolCallTag = 3
    case toolName = 4
    case toolArgs = 5
    /// Other JSON inside a tool-call block: keys, punctuation, newlines.
    case toolJSON = 6
    case responseTag = 7
    case responseContent = 8
    /// `<|im_end|>`, `<|endoftext|>` and every other added token that is not one of the six tags.
    case special = 9

    /// Stable snake_case name used in configs, metrics and the CLI.
    public var name: String {
        switch self {
        case .outside: return "outside"
        case .thinkTag: return "think_tag"
        case .thinkContent: return "think"
        case .toolCallTag: return "tool_call_tag"
        case .toolName: return "tool_name"
        case .toolArgs: return "tool_args"
        case .toolJSON: return "tool_json"
        case .responseTag: return "response_tag"
        case .responseContent: return "response"
        case .special: return "special"
        }
    }

    /// The category with this ``name`` (also accepts the Swift case name), or nil.
    public init?(name: String) {
        for c in TokenCategory.allCases where c.name == name || "\(c)" == name {
            self = c
            return
        }
        return nil
    }

    /// True for the tag categories (think, tool-call and response tags).
    public var isTag: Bool { self == .thinkTag || self == .toolCallTag || self == .responseTag }
}
