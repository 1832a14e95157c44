import Foundation
import TestSupport
import Testing
import ToolEval

/// This target's vendored fixtures (Fixtures/SOURCES.md).
let fixtures = TestFixtures(bundle: .module)

/// `PyValue` from JSON text (test inputs are written as JSON).
func py(_ json: String) -> PyValue {
    do { return try PyValue.parse(json: json) } catch { fatalError("bad test JSON: \(json): \(error)") }
}

@Test func pythonEqualityMatchesPython() {
    #expect(py("1").pyEquals(py("1.0")))
    #expect(py("1").pyEquals(.bool(true)))
    #expect(!py("1").pyEquals(py("\"1\"")))
    #expect(!py("[1, 2]").pyEquals(py("{\"__tuple__\": [1, 2]}")))
    #expect(py("{\"a\": [1, 2.0]}").pyEquals(py("{\"a\": [1.0, 2]}")))
    #expect(!py("1").strictlyEquals(py("1.0")))
    #expect(py("\"abc\"").pyRepr == "'abc'")
    #expect(py("\"it's\"").pyRepr == "\"it's\"")
    #expect(py("[1.0, null, true, {\"__tuple__\": [1]}]").pyRepr == "[1.0, None, True, (1,)]")
    #expect(py("1e-05").pyRepr == "1e-05")
}

@Test func pythonInSemantics() throws {
    #expect(try PyValue.str("").pyIn(.str("abc")))          // "" in any str
    #expect(try PyValue.str("b").pyIn(.str("abc")))         // substring test
    #expect(try PyValue.int(1).pyIn(py("[1.0]")))
    #expect(try !PyValue.str("x").pyIn(py("{\"y\": 1}")))
    #expect(throws: PyException.self) { try PyValue.int(1).pyIn(.str("1")) }
}
