/// Sequences (prompt + response) laid out for one teacher-forced forward pass: inputs are
/// `seq[0..<len-1]`, targets `seq[1...]`, right-padded to a common length; `responseMask`
/// marks targets that are response tokens (the only ones the loss sees).
struct SequenceBatch {
    let batch: Int
    let time: Int
    let inputs: [Int32]
    let targets: [Int32]
    let responseMask: [Float]
    /// Per row: target index of the first response token, and the response length.
    let responseStart: [Int]
    let responseLength: [Int]

    init(prompts: [[Int32]], responses: [[Int32]], pad: Int32) {
        batch = prompts.count
        time = max(1, zip(prompts, responses).map { $0.count + $1.count - 1 }.max() ?? 1)
        var inp = [Int32](repeating: pad, count: batch * time)
        var tgt = [Int32](repeating: pad, count: batch * time)
        var mask = [Float](repeating: 0, count: batch * time)
        var starts: [Int] = [], lens: [Int] = []
        for r in 0..<batch {
            let seq = prompts[r] + responses[r]
            for t in 0..<(seq.count - 1) {
                inp[r * time + t] = seq[t]; tgt[r * time + t] = seq[t + 1]
                if t + 1 >= prompts[r].count { mask[r * time + t] = 1 }
            }
            starts.append(prompts[r].count - 1); lens.append(responses[r].count)
        }
        inputs = inp; targets = tgt; responseMask = mask; responseStart = starts; responseLength = lens
    }
}
