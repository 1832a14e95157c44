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
