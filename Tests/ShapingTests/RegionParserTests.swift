import Regions
import Testing

@Suite("Regions: categories of the sampled tokens")
struct RegionParserTests {
    typealias C = TokenCategory

    @Test("raw values and names are the wire contract")
    func rawValues() {
        #expect(C.allCases.map(\.rawValue) == Array(0...10))
        #expect(C.allCases.map(\.name) == ["outside", "think_tag", "think", "tool_call_tag", "tool_name", "tool_args",
                                           "tool_json", "response_tag", "response", "special", "observation"])
        #expect(C.regions == Array(C.allCases.prefix(10)))
        #expect(C(regionName: "observation") == nil && C(regionName: "think") == .thinkContent)
        #expect(C(name: "tool_args") == .toolArgs && C(name: "toolArgs") == .toolArgs && C(name: "nope") == nil)
    }

    @Test("a single call: every category in place (v01's tokenisation)")
    func singleCall() {
        let r = TokenRow("<think>", "\n", "The", " user", ".\n", "</think>", "\n\n", "<tool_call>", "\n", "{\"", "name", "\":",
                         " \"", "get", "_weather", "\",", " \"", "parameters", "\":", " {\"", "city", "\":", " \"", "Paris",
                         "\"}}\n", "</tool_call>", "<|im_end|>", "<|endoftext|>")
        let cats = r.categories()
        let want: [C] = [.thinkTag, .thinkContent, .thinkContent, .thinkContent, .thinkContent, .thinkTag, .outside,
                         .toolCallTag, .toolJSON, .toolJSON, .toolJSON, .toolJSON, .toolJSON, .toolName, .toolName,
                         .toolJSON, .toolJSON, .toolJSON, .toolJSON, .toolArgs, .toolArgs, .toolArgs, .toolArgs, .toolArgs,
                         .toolArgs, .toolCallTag, .special, .special]
        #expect(cats == want, "\(r.describe(cats))")
    }

    @Test("straddling tokens take the category covering most of their bytes; ties go to the first")
    func straddling() {
        // ` {"` = json 1 byte + args 2 bytes → args; `"}}\n` = args 2 + json 2 → tie → args (first);
        // `_x",` → name 2 + json 2 → tie → name; ` "nm` = json 2 + name 2 → tie → json.
        let r = TokenRow("<tool_call>", "{\"name\":", " \"nm", "_x\",", " \"arguments\":", " {\"", "a\": \"b",
                         "\"}}\n", "</tool_call>")
        let cats = r.categories()
        #expect(cats == [.toolCallTag, .toolJSON, .toolJSON, .toolName, .toolJSON, .toolArgs, .toolArgs, .toolArgs, .toolCallTag],
                "\(r.describe(cats))")
        // `>\nI` (a text tag's `>` glued to content): 1 tag byte, 2 think bytes → think.
        let t = TokenRow("<", "think", ">\nI", " am", "</", "think", ">")
        #expect(t.categories() == [.thinkTag, .thinkTag, .thinkContent, .thinkContent, .thinkTag, .thinkTag, .thinkTag])
    }

    @Test("missing </think>: the reasoning runs until the tool call opens")
    func missingThinkClose() {
        let r = TokenRow("<think>", "\nI", " will", " convert", ".\n\n", "<tool_call>", "\n{\"name\": \"", "convert",
                         "\", \"arguments\": ", "{}", "}\n", "</tool_call>", "<|im_end|>")
        let cats = r.categories()
        #expect(cats == [.thinkTag, .thinkContent, .thinkContent, .thinkContent, .thinkContent, .toolCallTag, .toolJSON,
                         .toolName, .toolJSON, .toolArgs, .toolJSON, .toolCallTag, .special], "\(r.describe(cats))")
    }

    @Test("missing </think> with nothing after: think until the end-of-turn token")
    func truncatedThink() {
        let r = TokenRow("<think>", "\nHmm", " let", " me", "<|im_end|>", "<|endoftext|>")
        #expect(r.categories() == [.thinkTag, .thinkContent, .thinkContent, .thinkContent, .special, .special])
    }

    @Test("several calls in one block (one JSON object per line): every name and every arguments object")
    func severalCalls() {
        let r = TokenRow("<tool_call>", "\n{\"name\": \"", "a", "\", \"parameters\": ", "{\"x\": 1}", "}\n",
                         "{\"name\": \"", "b", "\", \"parameters\": ", "{\"y\": \"}\"}", "}\n", "</tool_call>")
        let cats = r.categories()
        #expect(cats == [.toolCallTag, .toolJSON, .toolName, .toolJSON, .toolArgs, .toolJSON,
                         .toolJSON, .toolName, .toolJSON, .toolArgs, .toolJSON, .toolCallTag], "\(r.describe(cats))")
    }

    @Test("two tool-call blocks: both weighted")
    func twoBlocks() {
        let r = TokenRow("<tool_call>", "{\"name\": \"", "a", "\", \"parameters\": ", "{}", "}", "</tool_call>", "\n",
                         "<tool_call>", "{\"name\": \"", "b", "\", \"parameters\": ", "{}", "}", "</tool_call>")
        let cats = r.categories()
        #expect(cats.filter { $0 == .toolName }.count == 2 && cats.filter { $0 == .toolArgs }.count == 2)
        #expect(cats[7] == .outside && cats[8] == .toolCallTag)
    }

    @Test("braces and escaped quotes inside strings do not end the arguments")
    func escapedStrings() {
        let r = TokenRow("<tool_call>", "{\"name\": \"", "s", "\", \"parameters\": ", "{\"p\": \"", "{user} said \\\"hi\\\" }{",
                         "\", \"path\": \"C:\\\\", "logs\"}", "}\n", "</tool_call>")
        let cats = r.categories()
        #expect(cats == [.toolCallTag, .toolJSON, .toolName, .toolJSON, .toolArgs, .toolArgs, .toolArgs, .toolArgs,
                         .toolJSON, .toolCallTag], "\(r.describe(cats))")
    }

    @Test("unicode: multi-byte characters split across byte-level tokens")
    func unicode() {
        let cake = Array("🎂".utf8)  // 4 bytes, sampled as 2 + 2
        let r = TokenRow([.text("<think>"), .text("用户"), .bytes(Array(cake[0..<2])), .bytes(Array(cake[2..<4])),
                          .text("</think>"), .text("<tool_call>"), .text("{\"name\": \""), .text("北京"),
                          .text("\", \"parameters\": {\"t\": \""), .bytes(Array(cake[0..<3])), .bytes([cake[3], 0x22, 0x7D]),
                          .text("}"), .text("</tool_call>")])
        let cats = r.categories()
        // token 8 = `", "parameters": {"t": "`: 16 JSON bytes vs 7 argument bytes → JSON.
        #expect(cats == [.thinkTag, .thinkContent, .thinkContent, .thinkContent, .thinkTag, .toolCallTag, .toolJSON,
                         .toolName, .toolJSON, .toolArgs, .toolArgs, .toolJSON, .toolCallTag], "\(r.describe(cats))")
    }

    @Test("text after the last tag is outside; response tags and content")
    func afterLastTagAndResponse() {
        let r = TokenRow("<tool_call>", "{\"name\": \"", "a", "\"}", "</tool_call>", "\n", "Let", " me", " know", "!",
                         "\n", "<", "response", ">", "Hi", ".</", "response", ">", "<|im_end|>")
        let cats = r.categories()
        #expect(cats == [.toolCallTag, .toolJSON, .toolName, .toolJSON, .toolCallTag, .outside, .outside, .outside, .outside,
                         .outside, .outside, .responseTag, .responseTag, .responseTag, .responseContent, .responseTag,
                         .responseTag, .responseTag, .special], "\(r.describe(cats))")
    }

    @Test("truncated generation: unterminated arguments and string run to the end")
    func truncated() {
        let r = TokenRow("<tool_call>", "\n", "{\"", "name", "\":", " \"", "search", "\",", " \"", "parameters", "\":",
                         " {\"", "origin", "\":", " \"", "SF")
        let cats = r.categories()
        #expect(cats == [.toolCallTag, .toolJSON, .toolJSON, .toolJSON, .toolJSON, .toolJSON, .toolName, .toolJSON,
                         .toolJSON, .toolJSON, .toolJSON, .toolArgs, .toolArgs, .toolArgs, .toolArgs, .toolArgs],
                "\(r.describe(cats))")
        // Truncated inside the name string.
        let n = TokenRow("<tool_call>", "{\"name\": \"", "get", "_we")
        #expect(n.categories() == [.toolCallTag, .toolJSON, .toolName, .toolName])
    }

    @Test("<toolcall> spelling in text tokens: tags, name and arguments")
    func toolcallSpelling() {
        let r = TokenRow("<", "tool", "call", ">\n", "{\"name\": \"", "set", "\", \"parameters\": ", "{\"t\": 1}", "}\n",
                         "</", "tool", "call", ">", "<|im_end|>")
        let cats = r.categories()
        #expect(cats == [.toolCallTag, .toolCallTag, .toolCallTag, .toolCallTag, .toolJSON, .toolName, .toolJSON,
                         .toolArgs, .toolJSON, .toolCallTag, .toolCallTag, .toolCallTag, .toolCallTag, .special],
                "\(r.describe(cats))")
    }

    @Test("pretty-printed JSON, OpenAI-style nesting, string arguments, a \"name\" inside the arguments")
    func jsonShapes() {
        let pretty = TokenRow("<tool_call>", "\n{\n  \"name\": \"", "ev", "\",\n  \"parameters\": ", "{\n    \"name\": \"x\"\n  }",
                              "\n}\n", "</tool_call>")
        #expect(pretty.categories() == [.toolCallTag, .toolJSON, .toolName, .toolJSON, .toolArgs, .toolJSON, .toolCallTag])
        let openai = TokenRow("<tool_call>", "{\"type\": \"function\", \"function\": {\"name\": \"", "f", "\", \"arguments\": ",
                              "\"{\\\"a\\\": 1}\"", "}}", "</tool_call>")
        #expect(openai.categories() == [.toolCallTag, .toolJSON, .toolName, .toolJSON, .toolArgs, .toolJSON, .toolCallTag])
    }

    @Test("orphan tags, tags out of order, special tokens in the middle, no tags at all")
    func oddStructures() {
        let r = TokenRow("<", "response", ">", "Bon", "</", "response", ">\n", "<think>", "\nok", "</think>", "<|im_end|>")
        let cats = r.categories()
        #expect(cats == [.responseTag, .responseTag, .responseTag, .responseContent, .responseTag, .responseTag,
                         .responseTag, .thinkTag, .thinkContent, .thinkTag, .special], "\(r.describe(cats))")
        #expect(TokenRow("plain", " text", "<|im_end|>").categories() == [.outside, .outside, .special])
        #expect(TokenRow("</think>", "\n\n", "Hi").categories() == [.thinkTag, .outside, .outside])
        // A special token inside a closed think block stays special.
        #expect(TokenRow("<think>", "a", "<|im_start|>", "b", "</think>").categories() == [.thinkTag, .thinkContent, .special, .thinkContent, .thinkTag])
        #expect(TokenRow(tokens: []).categories() == [])
    }

    @Test("think opened in the prompt: content before the first </think>")
    func thinkOpenInPrompt() {
        let r = TokenRow("I", " reason", "</think>", "\n\n", "<tool_call>", "{}", "</tool_call>")
        #expect(r.categories(RegionOptions(thinkOpenInPrompt: true)).prefix(3) == [.thinkContent, .thinkContent, .thinkTag])
        #expect(r.categories().prefix(3) == [.outside, .outside, .thinkTag])
    }

    @Test("byte segments cover the response without holes")
    func segmentsCover() {
        let r = TokenRow("<think>", "x", "</think>", "<tool_call>", "{\"name\": \"a\", \"arguments\": {}}", "</tool_call>", "tail")
        let segs = r.bytes.withUnsafeBufferPointer { b in
            r.starts.withUnsafeBufferPointer { s in r.added.withUnsafeBufferPointer { a in
                RegionParser().segments(bytes: b, tokenStarts: s, isAdded: a)
            } }
        }
        #expect(segs.first?.start == 0 && segs.last?.end == r.bytes.count)
        for (a, b) in zip(segs, segs.dropFirst()) { #expect(a.end == b.start && a.category != b.category) }
    }

    @Test("Int32 token starts give the same result")
    func int32Starts() {
        let r = TokenRow("<think>", "x", "</think>", "<tool_call>", "{\"name\": \"", "a", "\"}", "</tool_call>")
        let s32 = r.starts.map { Int32($0) }
        var out = [UInt8](repeating: 99, count: r.count)
        r.bytes.withUnsafeBufferPointer { b in s32.withUnsafeBufferPointer { s in r.added.withUnsafeBufferPointer { a in
            out.withUnsafeMutableBufferPointer { RegionParser().categorize(bytes: b, tokenStarts: s, isAdded: a, into: $0) }
        } } }
        #expect(out.map { C(rawValue: $0)! } == r.categories())
    }
}
