import Testing
import TestSupport
import Tokenization

/// The HF reference cases, through both loaders.
@Suite struct CasesTests {
    @Test func visibleCasesViaTiktoken() throws {
        let cases = try Fixtures.cases.get()
        #expect(cases.encodeCases.count == 150 && cases.decodeCases.count == 30)
        let results = cases.check(try TestFixtures.qwenTokenizer())
        let failures = results.filter { $0.difference != nil }
        #expect(results.count == 180)
        #expect(failures.isEmpty, "\(failures.prefix(5))")
    }

    @Test func visibleCasesViaDerivedTokenizerJSON() throws {
        let json = try Fixtures.derivedJSONTokenizer.get()
        let tiktoken = try TestFixtures.qwenTokenizer()
        #expect(json.vocabSize == tiktoken.vocabSize && json.vocabSize == 151_669)
        let results = try Fixtures.cases.get().check(json)
        let failures = results.filter { $0.difference != nil }
        #expect(failures.isEmpty, "\(failures.prefix(5))")
        for id: Int32 in [0, 255, 1000, 151_642, 151_643, 151_668] {
            #expect(Array(try json.tokenBytes(id)) == Array(try tiktoken.tokenBytes(id)))
            #expect(json.isSpecial(id) == tiktoken.isSpecial(id))
        }
    }

    @Test func bothLoadersAgreeOnLongerText() throws {
        let json = try Fixtures.derivedJSONTokenizer.get()
        let tiktoken = try TestFixtures.qwenTokenizer()
        let text = SampleText.mixed
        #expect(json.encode(text) == tiktoken.encode(text))
    }
}
