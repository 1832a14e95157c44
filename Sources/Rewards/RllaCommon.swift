import PyJSON

/// The parts of the `rlla` reward that the ResT and ToolRL variants share: scored-text extraction,
/// reward ranges under the schedule flags, tool-call correctness and the length score.
struct Rlla {
    let options: RewardOptions

    static let toolOpen = [UInt8](literal: "<tool_call>")
    static let toolClose = [UInt8](literal: "</tool_call>")
    static let thinkOpen = [UInt8](literal: "<think>")
    static let thinkClose = [UInt8](literal: "</think>")
    static let responseOpen = [UInt8](literal: "<response>")
    static let responseClose = [UInt8](literal: "</response>")
    static let imStartAssistant = [UInt8](literal: "<|im_start|>assistant")
    static let imEnd = [UInt8](literal: "<|im_end|>")
    static let llamaAssistant = [UInt8](literal: "<|start_header_id|>assistant<|end_header_id|>")
    static let eotId = [UInt8](literal: "<|eot_id|>")

    /// `predict_str`: the last assistant segment up to its end marker, `strip()`ped.
    /// The parts every variant computes the same way: the scored response, the variant's format
    /// score, the tool-call correctness and (when enabled) the length score. Each variant only
    /// says how they add up.
    func components(solution: Bytes, groundTruth: String, step: Int,
                    format formatScore: (Bytes, Bytes, Int) -> Double) throws(RewardError) -> (format: Double, correctness: Double, length: Double) {
        let gt = Array(groundTruth.utf8)[...]
        let response = predictText(solution)
        let format = formatScore(response, gt, step)
        let correctness = try correctness(response, groundTruth: gt, step: step)
        let length = options.withLength ? lengthScore(response, step: step) : 0
        return (format, correctness, length)
    }

    func predictText(_ solution: Bytes) -> Bytes {
        let (start, end) = options.llamaTemplate ? (Self.llamaAssistant, Self.eotId) : (Self.imStartAssistant, Self.imEnd)
        return PyText.strip(PyText.beforeFirst(PyText.afterLast(solution, start), end))
    }

    // MARK: ranges

    /// Format (max, min): 1/0, halved from step 30 under MAX1STEP30MAX3, then SCHEDULEREWARD.
    func formatRange(step: Int) -> (max: Double, min: Double) {
        var hi = 1.0, lo = 0.0
        if options.max1Step30Max3 && step >= 30 { hi = hi / 2; lo = lo / 2 }
        if options.scheduleReward {
            hi = 2 - (2 - hi) * Double(step) / 150
            lo = -2 + (2 + lo) * Double(step) / 150
            if hi < 1.0 { hi = 1.0 }
            if lo > -1.0 { lo = -1.0 }
        }
        return (hi, lo)
    }

    /// Correctness (max, min): ±3 (±1 with CORRECTMAX1), divided by 3 before step 30 under
    /// MAX1STEP30MAX3, then SCHEDULEREWARD.
    func toolRange(step: Int) -> (max: Double, min: Double) {
        var hi = options.correctMax1 ? 1.0 : 3.0
        var lo = options.correctMax1 ? -1.0 : -3.0
        if options.max1Step30Max3 && step < 30 { hi = hi / 3; lo = lo / 3 }
        if options.scheduleReward {
            hi = (hi - 2) * Double(step) / 150 + 2
            lo = (lo + 2) * Double(step) / 150 - 2
            if hi > 3.0 { hi = 3.0 }
            if lo < -3.0 { lo = -3.0 }
        }
        return (hi, lo)
    }

    // MARK: length

    /// The length component (only called under WITHLENGTH): words in the last think block over
    /// 512 (or the SCHEDULELENGTH target), Python-`round`ed to 2 places, capped at 1.
    func lengthScore(_ response: Bytes, step: Int) -> Double {
        let (hi, lo) = (1.0, 0.0)
        guard PyText.contains(response, Self.thinkOpen), PyText.contains(response, Self.thinkClose) else { return lo }
        let think = PyText.strip(PyText.beforeFirst(PyText.afterLast(response, Self.thinkOpen), Self.thinkClose))
        let target: Double = options.scheduleLength ? Double(256 * step) / 105 + 384 : 512
        var reward = PyRound.round2(Double(PyText.wordCount(think)) / target)
        if reward > 1.0 { reward = 1.0 }
        return reward * (hi - lo) + lo
    }

    // MARK: correctness

    /// `customize_correctness_reward_tool`: 0 when the ground truth has no `<tool_call>`; otherwise
    /// the ground truth's first block is parsed (a bad line throws, R8) and any failure on the
    /// prediction side (missing tags, a line that is not JSON, a missing key, a wrong type) is the minimum.
    func correctness(_ response: Bytes, groundTruth: Bytes, step: Int) throws(RewardError) -> Double {
        let (hi, lo) = toolRange(step: step)
        guard let gtField = PyText.secondField(groundTruth, Self.toolOpen) else { return 0.0 }
        let gtBlock = PyText.strip(PyText.beforeFirst(gtField, Self.toolClose))
        var gtTools: [JSONValue] = []
        for line in PyText.split(gtBlock, 0x0A) {
            do {
                gtTools.append(try Self.loads(line))
            } catch {
                let t = error.message.hasPrefix("Exceeds the limit") ? "ValueError"
                    : error.message.hasPrefix("maximum recursion") ? "RecursionError" : "JSONDecodeError"
                throw .unparseableGroundTruth(line: String(decoding: line, as: UTF8.self),
                                              message: error.description, pythonType: t)
            }
        }
        guard PyText.contains(response, Self.toolOpen), PyText.contains(response, Self.toolClose),
              let pdField = PyText.secondField(response, Self.toolOpen) else { return lo }
        let pdBlock = PyText.strip(PyText.beforeFirst(pdField, Self.toolClose))
        var pdTools: [JSONValue] = []
        for line in PyText.split(pdBlock, 0x0A) {
            guard let v = try? Self.loads(line) else { return lo }
            pdTools.append(v)
        }
        do {
            return try toolCallReward(gt: gtTools, pd: pdTools, max: hi, min: lo)
        } catch {
            return lo  // the reference's bare `except:`
        }
    }

    static func loads(_ line: Bytes) throws(JSONError) -> JSONValue {
        let r: Result<JSONValue, JSONError> = line.withUnsafeBytes { raw in
            do throws(JSONError) { return .success(try PyJSON.loads(raw)) } catch { return .failure(error) }
        }
        return try r.get()
    }

    /// `compute_tool_call_reward`. Throws `PyFailure` wherever Python would raise.
    func toolCallReward(gt: [JSONValue], pd: [JSONValue], max hi: Double, min lo: Double) throws(PyFailure) -> Double {
        if JSONValue.array(gt).pyEquals(.array(pd)) { return hi }
        if options.coarseReward { return lo }
        let gtNames = try gt.map { (t) throws(PyFailure) in try Py.item(t, "name") }
        let pdNames = try pd.map { (t) throws(PyFailure) in try Py.item(t, "name") }
        var score = try matchScore(gtNames, pdNames)
        var localMax = 1.0
        var used = Set<Int>()
        for gtTool in gt {
            let gtName = try Py.item(gtTool, "name")
            let gtParams = try Py.item(gtTool, "parameters")
            if options.intermediateReward {
                localMax += 1.0
            } else {
                localMax += 1.0 + Double(try Py.len(gtParams))
            }
            var bestScore = 0.0
            var bestIndex = -1
            for (i, pdTool) in pd.enumerated() {
                if used.contains(i) { continue }
                if !(try Py.item(pdTool, "name")).pyEquals(gtName) { continue }
                if options.intermediateReward {
                    if gtTool.pyEquals(pdTool) { bestIndex = i; bestScore = 1.0; break }
                    continue
                }
                let pdParams = try Py.item(pdTool, "parameters")
                let gtObj = try Py.dict(gtParams)   // `gt_params.keys()`
                let pdObj = try Py.dict(pdParams)   // `pd_params.keys()`
                let paramScore = try matchScore(gtObj.keys.map(JSONValue.string), pdObj.keys.map(JSONValue.string))
                // sum(1.0 for k, v in gt_params.items() if k in pd_params and pd_params[k] == v)
                var valueScore = 0.0
                for (k, v) in zip(gtObj.keys, gtObj.values) {
                    if let pv = pdObj[k], pv.pyEquals(v) { valueScore += 1.0 }
                }
                let total = paramScore + valueScore
                if total > bestScore { bestScore = total; bestIndex = i }
            }
            if bestIndex >= 0 {
                used.insert(bestIndex)
                score += bestScore
            }
        }
        return (hi - lo) * score / localMax + lo
    }

    /// `match_score`: 1 for equal lists; under REFINEDREWARD 0 otherwise; else the multiset
    /// intersection over the multiset union (Python `Counter`, so elements must be hashable).
    func matchScore(_ a: [JSONValue], _ b: [JSONValue]) throws(PyFailure) -> Double {
        if JSONValue.array(a).pyEquals(.array(b)) { return 1.0 }
        if options.refinedReward { return 0.0 }
        if a.isEmpty || b.isEmpty { return 0.0 }
        let ca = try Py.counter(a), cb = try Py.counter(b)
        var intersection = 0
        for (k, n) in ca {
            if let m = cb.first(where: { Py.sameKey($0.key, k) })?.count { intersection += Swift.min(n, m) }
        }
        let maxPossible = a.count + b.count - intersection
        return maxPossible > 0 ? Double(intersection) / Double(maxPossible) : 0.0
    }
}

/// A Python exception inside the reference's `try` (caught there by a bare `except:`).
struct PyFailure: Error {
    let what: String
}

/// Python operations on `json.loads` results, raising where Python raises.
enum Py {
    /// `v[key]`: KeyError when absent, TypeError when `v` is not a dict.
    static func item(_ v: JSONValue, _ key: String) throws(PyFailure) -> JSONValue {
        guard case .object(let o) = v else { throw PyFailure(what: "TypeError: \(v.pyTypeName) indices") }
        guard let x = o[key] else { throw PyFailure(what: "KeyError: '\(key)'") }
        return x
    }

    /// `len(v)` for dict, list and str (code points); TypeError otherwise.
    static func len(_ v: JSONValue) throws(PyFailure) -> Int {
        switch v {
        case .object(let o): return o.count
        case .array(let a): return a.count
        case .string(let s): return PyText.length(s)
        default: throw PyFailure(what: "TypeError: object of type '\(v.pyTypeName)' has no len()")
        }
    }

    /// `v` as a dict for `v.keys()` / `v.items()`: AttributeError unless it is one.
    static func dict(_ v: JSONValue) throws(PyFailure) -> JSONObject {
        guard case .object(let o) = v else { throw PyFailure(what: "AttributeError: '\(v.pyTypeName)' object has no attribute 'keys'") }
        return o
    }

    /// Dict-key equality: identity or `==`. `json.loads` shares one NaN object, so NaN keys match.
    static func sameKey(_ a: JSONValue, _ b: JSONValue) -> Bool {
        JSONValue.array([a]).pyEquals(.array([b]))
    }

    /// `Counter(values)` as ordered (key, count) pairs; TypeError for unhashable lists and dicts.
    static func counter(_ values: [JSONValue]) throws(PyFailure) -> [(key: JSONValue, count: Int)] {
        var out: [(key: JSONValue, count: Int)] = []
        for v in values {
            switch v {
            case .array, .object: throw PyFailure(what: "TypeError: unhashable type: '\(v.pyTypeName)'")
            default: break
            }
            if let i = out.firstIndex(where: { sameKey($0.key, v) }) { out[i].count += 1 } else { out.append((v, 1)) }
        }
        return out
    }
}
