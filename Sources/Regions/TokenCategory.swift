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
    /// A token between two turns of a multi-turn rollout (a tool response, the next turn's chat
    /// header: an interior run of mask = 0, see ``TurnLayout``). Never parsed, never weighted, in
    /// no region statistic.
    case observation = 10

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
        case .observation: return "observation"
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

    /// The categories ``RegionParser`` gives (every case but ``observation``): the keys of region
    /// statistics and of γ configurations.
    public static let regions: [TokenCategory] = allCases.filter { $0 != .observation }

    /// The parser category with this ``name`` (or Swift case name); nil for ``observation`` and
    /// unknown names. Configurations (γ's, entropy regions) name categories this way: observation
    /// tokens always weigh 0.
    public init?(regionName: String) {
        guard let c = TokenCategory(name: regionName), c != .observation else { return nil }
        self = c
    }

    /// True for the tag categories (think, tool-call and response tags).
    public var isTag: Bool { self == .thinkTag || self == .toolCallTag || self == .responseTag }
}
