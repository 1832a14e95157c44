import Testing
import PyJSON

/// Checks against outputs generated with CPython 3.11 `json` (see PythonRefs.swift).
@Suite struct PythonReferenceTests {
    @Test func roundTripsMatchPythonDumps() throws {
        for (input, dflt, noASCII, sortedIndent, compact, lone) in PythonRefs.roundTrips {
            let v = try PyJSON.loads(input)
            #expect(PyJSON.dumps(v) == dflt, "dumps(loads(\(input)))")
            if lone { continue }  // lone surrogates become U+FFFD (documented difference)
            #expect(PyJSON.dumps(v, ensureASCII: false) == noASCII, "ensure_ascii=False \(input)")
            #expect(PyJSON.dumps(v, sortKeys: true, indent: 2) == sortedIndent, "indent \(input)")
            #expect(PyJSON.dumps(v, sortKeys: true, itemSeparator: ",", keySeparator: ":") == compact, "compact \(input)")
            // Bytes overload agrees.
            let vb = try PyJSON.loads(Array(input.utf8))
            #expect(PyJSON.dumps(vb) == dflt)
            let vs = try PyJSON.loads(("[" + input + "]").dropFirst().dropLast())
            #expect(PyJSON.dumps(vs) == dflt)
        }
    }

    @Test func errorsMatchPythonMessages() {
        for (input, message) in PythonRefs.errors {
            do {
                _ = try PyJSON.loads(input)
                Issue.record("no error for \(input)")
            } catch {
                #expect(error.description == message, "input \(input)")
            }
        }
    }

    @Test func floatReprMatchesPython() {
        for (bits, repr) in PythonRefs.floatReprs {
            let d = Double(bitPattern: bits)
            #expect(FloatRepr.pyRepr(d) == repr, "bits \(bits)")
        }
    }

    @Test func equalityMatchesPython() throws {
        for (a, b, expected) in PythonRefs.equalities {
            let x = try PyJSON.loads(a), y = try PyJSON.loads(b)
            #expect(x.pyEquals(y) == expected, "\(a) == \(b)")
            #expect(y.pyEquals(x) == expected, "\(b) == \(a)")
        }
    }
}

@Suite struct PyJSONUnitTests {
    @Test func numberKinds() throws {
        guard case .int(1) = try PyJSON.loads("1") else { Issue.record("1"); return }
        guard case .double(1.0) = try PyJSON.loads("1.0") else { Issue.record("1.0"); return }
        guard case .double(100000.0) = try PyJSON.loads("1e5") else { Issue.record("1e5"); return }
        guard case .int(0) = try PyJSON.loads("-0") else { Issue.record("-0"); return }
        guard case .bigInt("-98765432109876543210") = try PyJSON.loads("-98765432109876543210") else { Issue.record("big"); return }
        guard case .int(Int.min) = try PyJSON.loads("-9223372036854775808") else { Issue.record("min"); return }
    }

    @Test func duplicateKeysLastWinsAtFirstPosition() throws {
        let v = try PyJSON.loads(#"{"a": 1, "b": 2, "a": 3}"#)
        let o = try #require(v.objectValue)
        #expect(o.keys == ["a", "b"])
        #expect(o["a"]?.intValue == 3)
        #expect(o.count == 2)
    }

    @Test func largeObjectsUseIndexConsistently() throws {
        var text = "{"
        for i in 0..<40 { text += "\"k\(i)\": \(i), " }
        text += "\"k3\": 99}"
        let o = try #require(try PyJSON.loads(text).objectValue)
        #expect(o.count == 40)
        #expect(o["k3"]?.intValue == 99)
        #expect(o["k39"]?.intValue == 39)
        #expect(o.keys[3] == "k3")
        var m = o
        m["k0"] = nil
        #expect(m.count == 39 && m["k1"]?.intValue == 1 && m.position(of: "k1") == 0)
    }

    @Test func keysCompareByCodePoints() throws {
        let o = try #require(try PyJSON.loads("{\"\u{e9}\": 1, \"e\u{301}\": 2}").objectValue)
        #expect(o.count == 2)
        #expect(o["\u{e9}"]?.intValue == 1)
        #expect(o["e\u{301}"]?.intValue == 2)
    }

    @Test func surrogates() throws {
        #expect(try PyJSON.loads(#""\ud83d\ude00""#).stringValue == "\u{1F600}")
        #expect(try PyJSON.loads(#""\ud800x""#).stringValue == "\u{FFFD}x")
        #expect(try PyJSON.loads(#""\ude00\ud83d""#).stringValue == "\u{FFFD}\u{FFFD}")
    }

    @Test func accessors() throws {
        let v = try PyJSON.loads(#"{"a": [1, "x", null, true, 2.5]}"#)
        #expect(v["a"]?[1]?.stringValue == "x")
        #expect(v["a"]?[2]?.isNull == true)
        #expect(v["a"]?[3]?.boolValue == true)
        #expect(v["a"]?[4]?.doubleValue == 2.5)
        #expect(v["a"]?[0]?.doubleValue == 1)
        #expect(v["a"]?[9] == nil)
        #expect(v["b"] == nil)
        #expect(v.pyTypeName == "dict" && v["a"]?.pyTypeName == "list")
    }

    @Test func invalidUTF8BytesRejected() {
        #expect(throws: JSONError.self) { try PyJSON.loads([0x22, 0xFF, 0x22]) }
        #expect(throws: JSONError.self) { try PyJSON.loads([0x22, 0xED, 0xA0, 0x80, 0x22]) }
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let deep = String(repeating: "[", count: 100_000)
        #expect(throws: JSONError.self) { try PyJSON.loads(deep) }
    }

    @Test func hugeIntegersLimitedLikeCPython() throws {
        let ok = String(repeating: "7", count: 4300)
        guard case .bigInt(let s) = try PyJSON.loads(ok) else { Issue.record("big"); return }
        #expect(s == ok)
        #expect(throws: JSONError.self) { try PyJSON.loads(String(repeating: "7", count: 4301)) }
    }

    @Test func errorOffsets() {
        do { _ = try PyJSON.loads("[1,\n 2 x]") } catch {
            #expect(error.offset == 7 && error.line == 2 && error.column == 4 && error.message == "Expecting ',' delimiter")
        }
    }
}

/// The parser's fast float path must agree bit for bit with a correctly rounded conversion.
@Suite struct FloatParsingTests {
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test func agreesWithCorrectlyRoundedConversion() throws {
        var rng = SplitMix(state: 42)
        for _ in 0..<20_000 {
            let intDigits = Int.random(in: 1...10, using: &rng)
            let fracDigits = Int.random(in: 0...12, using: &rng)
            var s = Bool.random(using: &rng) ? "-" : ""
            s += String(Int.random(in: 1...9, using: &rng))
            for _ in 1..<intDigits { s += String(Int.random(in: 0...9, using: &rng)) }
            if fracDigits > 0 || Bool.random(using: &rng) {
                s += "."
                for _ in 0..<max(fracDigits, 1) { s += String(Int.random(in: 0...9, using: &rng)) }
            }
            if Int.random(in: 0..<3, using: &rng) == 0 { s += "e" + String(Int.random(in: -30...30, using: &rng)) }
            guard s.contains(".") || s.contains("e") else { continue }
            let v = try PyJSON.loads(s)
            let want = try #require(Double(s))
            #expect(v.doubleValue?.bitPattern == want.bitPattern, "\(s)")
        }
    }

    @Test func signedZeroAndLimits() throws {
        #expect(try PyJSON.loads("-0.0").doubleValue?.bitPattern == (-0.0).bitPattern)
        #expect(try PyJSON.loads("0e999999").doubleValue == 0)
        #expect(try PyJSON.loads("1e999999").doubleValue == .infinity)
        #expect(try PyJSON.loads("9007199254740993.0").doubleValue == 9007199254740992.0)
        #expect(try PyJSON.loads("123456789012345678901234567890.5").doubleValue == 1.2345678901234568e29)
    }
}

@Suite struct StrictEqualityTests {
    @Test func literalsAndStrictEquality() throws {
        let v: JSONValue = ["a": [1, 2.5, "x", nil, true], "b": ["c": 1]]
        #expect(try PyJSON.loads(#"{"b": {"c": 1}, "a": [1, 2.5, "x", null, true]}"#) == v)
        #expect(PyJSON.dumps(v) == #"{"a": [1, 2.5, "x", null, true], "b": {"c": 1}}"#)
        #expect(JSONValue.int(1) != .double(1.0) && JSONValue.int(1) != .bool(true))
        #expect(JSONValue.int(1).pyEquals(.double(1.0)) && JSONValue.int(1).pyEquals(.bool(true)))
        #expect(JSONValue.array([1, 2]) != [2, 1])
        #expect(JSONValue.double(.nan) != .double(.nan))
    }
}
