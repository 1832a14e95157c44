import ArgumentParser
import Foundation
import Regions
import Shaping
import Tokenization

/// `rest-shaper inspect`: one rollout as a per-token table — index, turn, token text, bytes,
/// category and the weight every profile (released, aligned, uniform) gives it. With a mask that
/// has interior zeros the row is multi-turn (Regions.TurnLayout): the turn column numbers the turns
/// and observation tokens show `-`.
struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show one rollout as a per-token table: token, bytes, category, weight per profile.")

    enum ColorMode: String, ExpressibleByArgument, CaseIterable { case auto, always, never }

    @Option(help: "The response text (encoded with the tokenizer).") var text: String?
    @Option(help: "The response token ids, comma-separated (e.g. 151667,198,...).") var ids: String?
    @Option(help: "Loss mask, comma-separated (default: 1 for every token). Interior zeros make a multi-turn rollout.") var mask: String?
    @Flag(help: ArgumentHelp("Multi-turn: derive the mask from Qwen chat markers.",
                             discussion: "Every token after an <|im_end|> up to and including the next '<|im_start|>assistant\\n' gets mask 0 (a tool response, as verl's agent loop masks it)."))
    var chatTurns = false
    @Option(help: "Append N <|endoftext|> pad tokens with mask 0 (as the rollout worker pads).") var pad: Int = 0
    @Option(help: "tokenizer.json or qwen.tiktoken.") var tokenizer: String
    @Option(help: "Training step (γ schedules).") var step: Int = 0
    @Option(help: "Shaping config JSON file (γ schedules, clamp, normalisation).") var config: String?
    @Option(help: "Colour: auto (only on a terminal), always, never.") var color: ColorMode = .auto

    func validate() throws {
        if (text == nil) == (ids == nil) { throw ValidationError("give exactly one of --text or --ids") }
        if pad < 0 { throw ValidationError("--pad must be ≥ 0") }
        if chatTurns && mask != nil { throw ValidationError("give at most one of --mask or --chat-turns") }
    }

    func run() async throws {
        let tok = try Tokenizer.load(path: tokenizer)
        var tokenIDs: [Int32]
        if let text { tokenIDs = tok.encode(text).ids } else { tokenIDs = try Self.parseList(ids!, "--ids") { Int32($0) } }
        var maskValues: [Float] = try mask.map { try Self.parseList($0, "--mask") { Float($0) } }
            ?? (chatTurns ? try Self.chatMask(tokenIDs, tok) : [Float](repeating: 1, count: tokenIDs.count))
        guard maskValues.count == tokenIDs.count else {
            throw ValidationError("--mask has \(maskValues.count) values for \(tokenIDs.count) tokens")
        }
        if pad > 0 {
            guard let eos = tok.id(forAddedToken: "<|endoftext|>") else { throw ValidationError("tokenizer has no <|endoftext|>") }
            tokenIDs += [Int32](repeating: eos, count: pad)
            maskValues += [Float](repeating: 0, count: pad)
        }
        let cfg = try config.map { try ShapingConfig.fromJSON(Data(contentsOf: URL(fileURLWithPath: $0))) } ?? ShapingConfig()

        let decoded = try tok.decodeBytes(tokenIDs)
        // Turn by turn (Regions.TurnLayout): interior mask = 0 runs are observations.
        let cats = try RegionParser(options: cfg.regionOptions).categorize(ids: tokenIDs, mask: maskValues, tokenizer: tok)
        let turnOf = TurnLayout(mask: maskValues).turnIndex
        let catRaw = cats.map(\.rawValue)
        let shapingStep = ShapingStep(step: step)
        var columns: [(name: String, weights: [Float], outcome: RowOutcome)] = []
        for name in [ReleasedProfile.name, AlignedProfile.name, UniformProfile.name] {
            let p = try ProfileRegistry.make(name, config: cfg)
            let (w, o) = p.weights(ids: tokenIDs, mask: maskValues, categories: catRaw, codec: tok, step: shapingStep)
            columns.append((name, w, o))
        }

        let useColor = color == .always || (color == .auto && isatty(STDOUT_FILENO) != 0)
        var out = ""
        out += pad("idx", 5) + pad("turn", 5) + pad("token", 22) + pad("bytes", 30) + pad("category", 15) + pad("mask", 6)
        out += columns.map { pad($0.name, 10) }.joined() + "\n"
        for i in 0..<tokenIDs.count {
            let b = Array(decoded.bytes[decoded.span(i)])
            var line = pad("\(i)", 5) + pad(turnOf[i] < 0 ? "-" : "\(turnOf[i])", 5) + pad(Self.show(b), 22) + pad(Self.hex(b), 30)
            let cat = cats[i]
            line += useColor ? Self.paint(pad(cat.name, 15), cat) : pad(cat.name, 15)
            line += pad(maskValues[i] == 0 ? "0" : String(format: "%g", maskValues[i]), 6)
            line += columns.map { pad(String(format: "%.4f", $0.weights[i]), 10) }.joined()
            out += line + "\n"
        }
        for c in columns {
            if case .fellBack(let e) = c.outcome { out += "\(c.name): fell back to weights = mask (\(e))\n" }
        }
        print(out, terminator: "")
    }

    // MARK: Formatting

    private func pad(_ s: String, _ width: Int) -> String {
        let n = s.count
        return n >= width ? s + " " : s + String(repeating: " ", count: width - n)
    }

    /// Token text with control characters escaped; invalid UTF-8 bytes as \xNN.
    static func show(_ bytes: [UInt8]) -> String {
        var s = ""
        if let str = String(validating: bytes, as: UTF8.self) {
            for ch in str.unicodeScalars {
                switch ch {
                case "\n": s += "\\n"
                case "\t": s += "\\t"
                case "\r": s += "\\r"
                default: s += ch.value < 0x20 ? String(format: "\\x%02X", ch.value) : String(ch)
                }
            }
        } else {
            s = bytes.map { $0 < 0x80 && $0 >= 0x20 ? String(UnicodeScalar($0)) : String(format: "\\x%02X", $0) }.joined()
        }
        let limit = 20
        return s.count > limit ? String(s.prefix(limit - 1)) + "…" : "\"" + s + "\""
    }

    /// Hex of a token's bytes (first 8, then the count).
    static func hex(_ bytes: [UInt8]) -> String {
        let h = bytes.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")
        return bytes.count > 8 ? h + " …(\(bytes.count))" : h
    }

    /// ANSI colour per category.
    static func paint(_ s: String, _ c: TokenCategory) -> String {
        let code: String
        switch c {
        case .thinkTag, .toolCallTag, .responseTag: code = "1;33"
        case .thinkContent: code = "34"
        case .toolName: code = "1;32"
        case .toolArgs: code = "32"
        case .toolJSON: code = "36"
        case .responseContent: code = "35"
        case .special: code = "90"
        case .observation: code = "2;90"
        case .outside: code = "0"
        }
        return "\u{1B}[\(code)m\(s)\u{1B}[0m"
    }

    /// A multi-turn loss mask from Qwen chat markers: 1 on the model's tokens (its `<|im_end|>`
    /// included), 0 from the token after an `<|im_end|>` through the next `<|im_start|>assistant\n`.
    static func chatMask(_ ids: [Int32], _ tok: Tokenizer) throws -> [Float] {
        let imEnd = tok.id(forAddedToken: "<|im_end|>"), imStart = tok.id(forAddedToken: "<|im_start|>")
        let d = try tok.decodeBytes(ids)
        let header = Array("assistant\n".utf8)
        var mask = [Float](repeating: 1, count: ids.count)
        var inObservation = false
        var i = 0
        while i < ids.count {
            if !inObservation {
                if ids[i] == imEnd { inObservation = true }
                i += 1
                continue
            }
            mask[i] = 0
            if ids[i] == imStart {
                // The following tokens spell "assistant\n": they close the observation.
                var bytes: [UInt8] = [], j = i + 1
                while j < ids.count, bytes.count < header.count { bytes += d.bytes[d.span(j)]; j += 1 }
                if bytes.starts(with: header) {
                    for k in i + 1..<j { mask[k] = 0 }
                    inObservation = false
                    i = j
                    continue
                }
            }
            i += 1
        }
        return mask
    }

    static func parseList<T>(_ s: String, _ flag: String, _ f: (String) -> T?) throws -> [T] {
        try s.split(separator: ",").map { part in
            let t = part.trimmingCharacters(in: .whitespaces)
            guard let v = f(t) else { throw ValidationError("\(flag): '\(t)' is not a number") }
            return v
        }
    }
}
