import Rewards

/// A ChatML conversation whose last assistant turn is `response` (what the reward receives).
func chat(_ response: String, after: String = "") -> String {
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        + response + "<|im_end|>" + after
}

/// A ground truth with a tool-call block of the given JSON lines.
func gtCalls(_ lines: String...) -> String {
    "<think> ... </think>\n<tool_call>\n" + lines.joined(separator: "\n") + "\n</tool_call>"
}

/// A well-formed response calling the given JSON lines.
func callResponse(_ lines: String..., think: String = "I will call the tool.") -> String {
    "<think>" + think + "</think>\n<tool_call>\n" + lines.joined(separator: "\n") + "\n</tool_call>"
}

func options(_ configure: (inout RewardOptions) -> Void) -> RewardOptions {
    var o = RewardOptions()
    configure(&o)
    return o
}

func rest(_ o: RewardOptions = RewardOptions()) -> RestReward { RestReward(options: o) }
func toolrl(_ o: RewardOptions = RewardOptions()) -> ToolRLReward { ToolRLReward(options: o) }
