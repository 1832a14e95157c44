import CCJSON
import Foundation

/// Reads a HF `tokenizer.json` with cJSON (fast on the 18 MB Qwen file) and checks that it is the
/// configuration this implementation reproduces exactly; anything else is `TokenizerError.unsupported`.
enum TokenizerJSONLoader {
    typealias Node = UnsafeMutablePointer<cJSON>

    static func load(path: String) throws -> Tokenizer.Components {
        let data = try TiktokenLoader.readFile(path)
        let parsed: Node? = data.withUnsafeBufferPointer { b in
            b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) { cJSON_ParseWithLength($0, b.count) }
        }
        guard let root = parsed else { throw TokenizerError.invalidFile("\(path) is not valid JSON") }
        return try load(document: Document(root))
    }

    /// Owns the parsed tree; the merges closure keeps it alive until the tokenizer is built.
    final class Document {
        let root: Node
        init(_ root: Node) { self.root = root }
        deinit { cJSON_Delete(root) }
    }

    static func child(_ node: Node?, _ key: String) -> Node? {
        guard let node else { return nil }
        return cJSON_GetObjectItemCaseSensitive(node, key)
    }

    static func isNull(_ node: Node?) -> Bool { node == nil || cJSON_IsNull(node) != 0 }

    static func string(_ node: Node?) -> String? {
        guard let node, cJSON_IsString(node) != 0, let s = node.pointee.valuestring else { return nil }
        return String(cString: s)
    }

    static func bool(_ node: Node?, default value: Bool) throws -> Bool {
        guard let node, cJSON_IsNull(node) == 0 else { return value }
        if cJSON_IsTrue(node) != 0 { return true }
        if cJSON_IsFalse(node) != 0 { return false }
        throw TokenizerError.invalidFile("expected a boolean for \(node.pointee.string.map { String(cString: $0) } ?? "value")")
    }

    static func int(_ node: Node?) -> Int? {
        guard let node, cJSON_IsNumber(node) != 0 else { return nil }
        let d = node.pointee.valuedouble
        guard d >= 0, d < 2_147_483_647, d == d.rounded() else { return nil }
        return Int(d)
    }

    static func children(_ node: Node?) -> [Node] {
        var out: [Node] = []
        var c = node?.pointee.child
        while let n = c { out.append(n); c = n.pointee.next }
        return out
    }

    /// Bytes of a byte-level vocabulary string given as NUL-terminated UTF-8.
    static func byteLevelBytes(_ s: UnsafePointer<CChar>) -> [UInt8]? {
        var out: [UInt8] = []
        var p = UnsafeRawPointer(s).assumingMemoryBound(to: UInt8.self)
        let table = ByteLevel.scalarToByte
        while p.pointee != 0 {
            let b0 = UInt32(p.pointee)
            var v: UInt32
            if b0 < 0x80 { v = b0; p += 1 }
            else if b0 & 0xE0 == 0xC0 && p[1] & 0xC0 == 0x80 { v = (b0 & 0x1F) << 6 | UInt32(p[1] & 0x3F); p += 2 }
            else { return nil } // every byte-level scalar is < U+0800
            guard v < UInt32(table.count), table[Int(v)] >= 0 else { return nil }
            out.append(UInt8(table[Int(v)]))
        }
        return out
    }

    static func load(document: Document) throws -> Tokenizer.Components {
        let root = document.root
        // ── model ──
        guard let model = child(root, "model"), cJSON_IsObject(model) != 0 else { throw TokenizerError.invalidFile("no model") }
        if let type = string(child(model, "type")), type != "BPE" { throw TokenizerError.unsupported("model type \(type)") }
        if !isNull(child(model, "dropout")), let d = child(model, "dropout"), d.pointee.valuedouble != 0 {
            throw TokenizerError.unsupported("BPE dropout")
        }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let v = string(child(model, key)), !v.isEmpty { throw TokenizerError.unsupported("model.\(key) \(v)") }
        }
        let ignoreMerges = try bool(child(model, "ignore_merges"), default: false)
        guard let vocab = child(model, "vocab"), cJSON_IsObject(vocab) != 0 else { throw TokenizerError.invalidFile("no model.vocab") }
        var tokens: [(Int32, ArraySlice<UInt8>)] = []
        var maxID = -1
        for entry in children(vocab) {
            guard let key = entry.pointee.string, let id = int(entry) else { throw TokenizerError.invalidFile("bad vocab entry") }
            guard let bytes = byteLevelBytes(key), !bytes.isEmpty else {
                throw TokenizerError.unsupported("vocab entry \(String(cString: key)) is not byte-level")
            }
            tokens.append((Int32(id), ArraySlice(bytes)))
            maxID = max(maxID, id)
        }
        guard let mergesNode = child(model, "merges"), cJSON_IsArray(mergesNode) != 0 else { throw TokenizerError.invalidFile("no model.merges") }
        // Pointers into the tree (owned by `document`), in file order; an "a b" string is cut in place.
        var merges: [(UnsafePointer<CChar>, UnsafePointer<CChar>)] = []
        for m in children(mergesNode) {
            if cJSON_IsString(m) != 0, let s = m.pointee.valuestring {
                let n = strlen(s)
                var spaces: [Int] = []
                for k in 0..<n where s[k] == 0x20 { spaces.append(k) }
                guard spaces.count == 1 else { throw TokenizerError.invalidFile("merge \(String(cString: s)) is not 'a b'") }
                s[spaces[0]] = 0
                merges.append((UnsafePointer(s), UnsafePointer(s + spaces[0] + 1)))
            } else if cJSON_IsArray(m) != 0 {
                let parts = children(m)
                guard parts.count == 2, let a = parts[0].pointee.valuestring, let b = parts[1].pointee.valuestring else {
                    throw TokenizerError.invalidFile("merge is not [a, b]")
                }
                merges.append((UnsafePointer(a), UnsafePointer(b)))
            } else {
                throw TokenizerError.invalidFile("merge is neither 'a b' nor [a, b]")
            }
        }

        // ── added tokens ──
        var added: [AddedToken] = []
        for t in children(child(root, "added_tokens")) {
            guard let id = int(child(t, "id")), let content = string(child(t, "content")) else {
                throw TokenizerError.invalidFile("added token without id/content")
            }
            for flag in ["lstrip", "rstrip", "single_word"] where try bool(child(t, flag), default: false) {
                throw TokenizerError.unsupported("added token \(content) with \(flag)")
            }
            added.append(AddedToken(content: content, id: Int32(id), special: try bool(child(t, "special"), default: false),
                                    normalized: try bool(child(t, "normalized"), default: false)))
            maxID = max(maxID, id)
        }

        // ── normalizer ──
        let nfc: Bool
        let normalizer = child(root, "normalizer")
        if isNull(normalizer) {
            nfc = false
        } else if string(child(normalizer, "type")) == "NFC" {
            nfc = true
        } else if string(child(normalizer, "type")) == "Sequence",
                  case let parts = children(child(normalizer, "normalizers")),
                  parts.allSatisfy({ string(child($0, "type")) == "NFC" }) {
            nfc = !parts.isEmpty
        } else {
            throw TokenizerError.unsupported("normalizer \(string(child(normalizer, "type")) ?? "?") (only NFC)")
        }

        // ── pre-tokenizer: Sequence[Split(Qwen regex, Isolated), ByteLevel(no prefix space, no regex)] ──
        let pre = child(root, "pre_tokenizer")
        let steps = string(child(pre, "type")) == "Sequence" ? children(child(pre, "pretokenizers")) : (pre.map { [$0] } ?? [])
        guard steps.count == 2, string(child(steps[0], "type")) == "Split", string(child(steps[1], "type")) == "ByteLevel" else {
            throw TokenizerError.unsupported("pre_tokenizer must be Sequence[Split, ByteLevel]")
        }
        let regex = string(child(child(steps[0], "pattern"), "Regex"))
        guard regex == QwenPreTokenizer.pattern else {
            throw TokenizerError.unsupported("pre-tokenizer pattern \(regex ?? string(child(child(steps[0], "pattern"), "String")) ?? "?")")
        }
        guard string(child(steps[0], "behavior")) == "Isolated", try !bool(child(steps[0], "invert"), default: false) else {
            throw TokenizerError.unsupported("Split behavior other than Isolated")
        }
        guard try !bool(child(steps[1], "add_prefix_space"), default: true), try !bool(child(steps[1], "use_regex"), default: true) else {
            throw TokenizerError.unsupported("ByteLevel pre-tokenizer with add_prefix_space or use_regex")
        }
        // ── decoder / post-processor ──
        guard string(child(child(root, "decoder"), "type")) == "ByteLevel" else {
            throw TokenizerError.unsupported("decoder must be ByteLevel")
        }
        let post = child(root, "post_processor")
        if string(child(post, "type")) == "ByteLevel", try bool(child(post, "trim_offsets"), default: true) {
            throw TokenizerError.unsupported("ByteLevel post-processor with trim_offsets")
        }

        let fileMerges = merges
        return Tokenizer.Components(
            vocabSize: maxID + 1, modelTokens: tokens,
            merges: { store in
                var table = PairTable(expectedCount: fileMerges.count)
                func id(_ s: UnsafePointer<CChar>) throws -> (Int32, [UInt8]) {
                    guard let b = byteLevelBytes(s) else { throw TokenizerError.invalidFile("merge part \(String(cString: s)) is not byte-level") }
                    let id = b.withUnsafeBufferPointer { store.lookup($0.baseAddress!, $0.count) }
                    guard !b.isEmpty, id >= 0 else { throw TokenizerError.invalidFile("merge part \(String(cString: s)) not in vocab") }
                    return (id, b)
                }
                func add(_ a: UnsafePointer<CChar>, _ b: UnsafePointer<CChar>, _ rank: Int) throws {
                    let (ia, ba) = try id(a), (ib, bb) = try id(b)
                    let m = ba + bb
                    let merged = m.withUnsafeBufferPointer { store.lookup($0.baseAddress!, $0.count) }
                    guard merged >= 0 else { throw TokenizerError.invalidFile("merge result \(String(cString: a))\(String(cString: b)) not in vocab") }
                    table.insert(ia, ib, rank: UInt32(rank), merged: merged)
                }
                try withExtendedLifetime(document) {
                    for (rank, (a, b)) in fileMerges.enumerated() { try add(a, b, rank) }
                }
                return table
            },
            addedTokens: added, ignoreMerges: ignoreMerges, nfc: nfc)
    }
}
