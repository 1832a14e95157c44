import Testing
import TestSupport
import Tokenization

/// The HF reference cases, through both loaders.
@Suite struct CasesTests {
    @Test func visibleCasesViaTiktoken() throws {
        let cases = try TokenizerTestData.cases.get()
        #expect(cases.encodeCases.count == 150 && cases.decodeCases.count == 30)
        let results = cases.check(try TestFixtures.qwenTokenizer())
        let failures = results.filter { $0.difference != nil }
        #expect(results.count == 180)
        #expect(failures.isEmpty, "\(failures.prefix(5))")
    }

    @Test func visibleCasesViaDerivedTokenizerJSON() throws {
        let json = try TokenizerTestData.derivedJSONTokenizer.get()
        let tiktoken = try TestFixtures.qwenTokenizer()
        #expect(json.vocabSize == tiktoken.vocabSize && json.vocabSize == 151_669)
        let results = try TokenizerTestData.cases.get().check(json)
        let failures = results.filter { $0.difference != nil }
        #expect(failures.isEmpty, "\(failures.prefix(5))")
        for id: Int32 in [0, 255, 1000, 151_642, 151_643, 151_668] {
            #expect(Array(try json.tokenBytes(id)) == Array(try tiktoken.tokenBytes(id)))
            #expect(json.isSpecial(id) == tiktoken.isSpecial(id))
        }
    }

    @Test func bothLoadersAgreeOnLongerText() throws {
        let json = try TokenizerTestData.derivedJSONTokenizer.get()
        let tiktoken = try TestFixtures.qwenTokenizer()
        let text = SampleText.mixed
        #expect(json.encode(text) == tiktoken.encode(text))
    }
}

/// Random cases made with HF `tokenizers` 0.23.3 (see Fixtures/SOURCES.md): combining marks, NFC reorderings and
/// exclusions, contractions, special spaces, controls, added-token prefixes, skip_special_tokens decodes.
@Suite struct FuzzCasesTests {
    static let cases: Result<TokenizerCases, any Error> = Result { try TokenizerCases(path: fixtures.path("tokenizer_cases_hf_fuzz.json")) }

    @Test func hfFuzzCasesViaTiktoken() throws {
        let cases = try Self.cases.get()
        #expect(cases.encodeCases.count == 550 && cases.decodeCases.count == 150)
        let failures = cases.check(try TestFixtures.qwenTokenizer()).filter { $0.difference != nil }
        #expect(failures.isEmpty, "\(failures.prefix(5))")
    }

    @Test func hfFuzzCasesViaDerivedTokenizerJSON() throws {
        let failures = try Self.cases.get().check(try TokenizerTestData.derivedJSONTokenizer.get()).filter { $0.difference != nil }
        #expect(failures.isEmpty, "\(failures.prefix(5))")
    }
}

/// The flat-array and ids-only entry points agree with `encode`.
@Suite struct EntryPointTests {
    @Test func flatOffsetsAndIDsMatchEncode() throws {
        let tok = try TestFixtures.qwenTokenizer()
        let texts = try FuzzCasesTests.cases.get().encodeCases.map(\.text) + [SampleText.mixed, "", "a"]
        for text in texts {
            let e = tok.encode(text)
            let flat = tok.encodeCodePointOffsets(text)
            #expect(flat.ids == e.ids)
            #expect(flat.starts.map(Int.init) == e.offsets.map(\.lowerBound))
            #expect(flat.ends.map(Int.init) == e.offsets.map(\.upperBound))
            #expect(tok.encodeIDs(text) == e.ids)
        }
    }
}
