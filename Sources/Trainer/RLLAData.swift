import Foundation

/// Loader for the ToolRL `rlla` JSONL (one object per line with `prompt` messages and
/// `reward_model.ground_truth`), rendered in ChatML as the Qwen chat template does.
public enum RLLAData {
    /// One JSONL line as Codable reads it; each field optional so a missing one gets its own error.
    struct Line: Decodable {
        struct Message: Decodable { var role: String?; var content: String? }
        struct RewardModel: Decodable { var ground_truth: String? }
        var prompt: [Message]?
        var reward_model: RewardModel?
        var ground_truth: String?
    }

    public static func load(url: URL) throws -> [TaskExample] {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch { throw TrainerError.io("cannot read \(url.path)") }
        var out: [TaskExample] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            guard let obj = try? JSONDecoder().decode(Line.self, from: Data(line.utf8)),
                  let msgs = obj.prompt else { throw TrainerError.data("\(url.lastPathComponent):\(n + 1): no prompt messages") }
            guard let gt = obj.reward_model?.ground_truth ?? obj.ground_truth else {
                throw TrainerError.data("\(url.lastPathComponent):\(n + 1): no ground_truth")
            }
            var prompt = ""
            for m in msgs {
                guard let role = m.role, let content = m.content else {
                    throw TrainerError.data("\(url.lastPathComponent):\(n + 1): message without role/content")
                }
                prompt += "<|im_start|>\(role)\n\(content)<|im_end|>\n"
            }
            out.append(TaskExample(prompt: prompt + "<|im_start|>assistant\n", groundTruth: gt))
        }
        guard !out.isEmpty else { throw TrainerError.data("\(url.lastPathComponent) has no examples") }
        return out
    }
}
