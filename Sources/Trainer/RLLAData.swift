import Foundation

/// Loader for the ToolRL `rlla` JSONL (one object per line with `prompt` messages and
/// `reward_model.ground_truth`), rendered in ChatML as the Qwen chat template does.
public enum RLLAData {
    public static func load(url: URL) throws -> [TaskExample] {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch { throw TrainerError.io("cannot read \(url.path)") }
        var out: [TaskExample] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            guard let obj = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
                  let msgs = obj["prompt"] as? [[String: Any]] else { throw TrainerError.data("\(url.lastPathComponent):\(n + 1): no prompt messages") }
            let gt = ((obj["reward_model"] as? [String: Any])?["ground_truth"] as? String) ?? (obj["ground_truth"] as? String)
            guard let gt else { throw TrainerError.data("\(url.lastPathComponent):\(n + 1): no ground_truth") }
            var prompt = ""
            for m in msgs {
                guard let role = m["role"] as? String, let content = m["content"] as? String else {
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
