import Foundation
import Synchronization
import Pipeline
import Trainer

/// A stand-in ``Shaper`` for loop tests that must not depend on the shaping core: decodes the
/// synthetic vocabulary's Qwen ids and scores exact tool name / argument matches; weights are
/// the mask (uniform).
struct SyntheticFakeShaper: Shaper {
    func shape(_ r: ShapeRequest) throws -> ShapeResult {
        let vocab = SyntheticToolTask.vocabulary
        var byQwen: [Int32: String] = [:]
        for (p, q) in zip(vocab.pieces, vocab.qwenIDs) { byQwen[q] = p }
        var rewards: [Float] = [], comps: [Float] = []
        for b in 0..<r.batch {
            var text = ""
            for t in 0..<r.length where r.mask[b * r.length + t] > 0 { text += byQwen[r.inputIDs[b * r.length + t]] ?? "?" }
            // Like the ToolRL reward: only the text before <|im_end|> counts; no end → no format.
            let ended = text.contains("<|im_end|>")
            if let e = text.range(of: "<|im_end|>") { text = String(text[..<e.lowerBound]) }
            let gt = r.groundTruths[b]
            let format: Float = ended && text.hasPrefix("<think>") && text.hasSuffix("</tool_call>") && text.contains("</think>\n<tool_call>\n") && text.contains("\n</tool_call>") ? 1 : 0
            let call = gt.split(separator: "\n")[2]
            var correct: Float = text.contains(call) ? 3 : -3
            if correct < 0, let nameEnd = call.range(of: "\", \"parameters") {
                correct = text.contains(call[..<nameEnd.lowerBound]) ? 0 : -3
            }
            if b == 0, ProcessInfo.processInfo.environment["TRAINER_DEBUG"] == "1" { print(text.debugDescription, "| gt:", call, format, correct) }
            rewards.append(format + correct); comps += [format, correct, 0, format + correct]
        }
        return ShapeResult(weights: r.mask, rewards: rewards, components: comps,
                           categories: [UInt8](repeating: 0, count: r.mask.count),
                           rolloutStatus: Array(repeating: .ok, count: r.batch), entropies: nil, metrics: BatchMetrics())
    }
}

/// Wraps ``SyntheticFakeShaper`` with non-uniform weights (1 + position mod 3 on valid tokens) and
/// keeps the digest of every batch of weights it hands out, to compare with what the loss applied.
final class DigestRecordingShaper: Shaper {
    let handedOut = Mutex<[WeightDigest]>([])
    func shape(_ r: ShapeRequest) throws -> ShapeResult {
        var res = try SyntheticFakeShaper().shape(r)
        res.weights = res.weights.indices.map { r.mask[$0] > 0 ? Float(1 + ($0 % r.length) % 3) : 0 }
        let d = WeightDigest(weights: res.weights, mask: r.mask, rows: r.batch, length: r.length)
        handedOut.withLock { $0.append(d) }
        return res
    }
}
