import Foundation
import TestSupport
import Testing
import PyJSON
import Rewards

/// This target's vendored fixtures (Fixtures/SOURCES.md); the golden vectors are TestSupport's.
let fixtures = TestFixtures(bundle: .module)

@Suite struct GoldenVectorRewards {
    @Test func everyCaseEveryConfigMatches() throws {
        let doc = try PyJSON.loads([UInt8](TestFixtures.goldenVectors()))
        let configs = try RewardConformance.configs(header: doc)
        #expect(configs.count == 14)
        let cases = try #require(doc["cases"]?.arrayValue)
        #expect(cases.count == 26)
        var passed = 0
        for c in cases {
            if let diff = RewardConformance.check(caseJSON: c, configs: configs) {
                Issue.record(Comment(rawValue: diff))
            } else {
                passed += 1
            }
        }
        #expect(passed == cases.count)
    }

    @Test func checkReportsADifference() throws {
        let doc = try PyJSON.loads([UInt8](TestFixtures.goldenVectors()))
        let configs = try RewardConformance.configs(header: doc)
        let first = try #require(doc["cases"]?[0]?.objectValue)
        var tampered = first
        var rewards = try #require(first["rewards"]?.objectValue)
        var dflt = try #require(rewards["default"]?.objectValue)
        dflt["correctness"] = .double(2.5)
        rewards["default"] = .object(dflt)
        tampered["rewards"] = .object(rewards)
        let diff = try #require(RewardConformance.check(caseJSON: .object(tampered), configs: configs))
        #expect(diff.contains("[default]") && diff.contains("correctness"))
        // The toolrl variant is not the one behind the vectors: it disagrees somewhere.
        let cases = try #require(doc["cases"]?.arrayValue)
        #expect(cases.contains { RewardConformance.check(caseJSON: $0, configs: configs, variant: "toolrl") != nil })
    }

    @Test func configsReadTheEnvironmentLikeOsGetenv() throws {
        let doc = try PyJSON.loads([UInt8](TestFixtures.goldenVectors()))
        let configs = try RewardConformance.configs(header: doc)
        let train = try #require(configs.first { $0.name == "train_ResT_sh_step60" })
        var want = RewardOptions()
        want.scheduleReward = true
        #expect(train.options == want && train.step == 60)
        let both = try #require(configs.first { $0.name == "withlength_schedulelength_step50" })
        #expect(both.options.withLength && both.options.scheduleLength && both.step == 50)
    }
}

@Suite struct ToolRLReferenceRewards {
    @Test func everyRowMatches() throws {
        let bytes = try fixtures.bytes("reward_refs_test.jsonl")
        var rows = 0, passed = 0
        for line in bytes.split(separator: 0x0A) where !line.isEmpty {
            let row = try PyJSON.loads(Array(line))
            rows += 1
            if let diff = RewardConformance.checkReferenceRow(row) {
                Issue.record(Comment(rawValue: diff))
            } else {
                passed += 1
            }
        }
        #expect(rows == 495)
        #expect(passed == rows)
    }
}

@Suite struct WholeFileReports {
    @Test func vectorsReport() throws {
        let doc = try PyJSON.loads([UInt8](TestFixtures.goldenVectors()))
        let report = try RewardConformance.checkVectors(doc)
        #expect(report.summary == "26 passed, 0 failed")
        #expect(try RewardConformance.checkVectors(doc, variant: "toolrl").failed > 0)
    }

    @Test func referenceLinesReport() throws {
        let text = try fixtures.text("reward_refs_test.jsonl")
        #expect(RewardConformance.checkReferenceLines(text).summary == "495 passed, 0 failed")
        let broken = RewardConformance.checkReferenceLines("{\"index\": 1}\nnot json\n")
        #expect(broken.passed == 0 && broken.failed == 2)
    }
}

@Suite struct RecordedErrors {
    let configs = [RewardConformance.Config(name: "default", options: RewardOptions(), step: 0)]
    let badGT = "<think> ... </think>\n<tool_call>\n{bad\n</tool_call>"
    let goodGT = "<think> ... </think>\n<tool_call>\n{\"name\": \"f\", \"parameters\": {}}\n</tool_call>"
    let solution = chat("<think>x</think>\n<tool_call>\n{\"name\": \"f\", \"parameters\": {}}\n</tool_call>")

    func vectorsCase(gt: String, rewards: JSONValue?, error: String? = nil) -> JSONValue {
        var o = JSONObject([("id", "x"), ("solution_str", .string(solution)), ("ground_truth", .string(gt))])
        if let rewards { o["rewards"] = rewards }
        if let error { o["error"] = .string(error) }
        return .object(o)
    }

    @Test func recordedErrorMustBeRaised() {
        #expect(RewardConformance.check(caseJSON: vectorsCase(gt: badGT, rewards: ["error": "JSONDecodeError"]), configs: configs) == nil)
        #expect(RewardConformance.check(caseJSON: vectorsCase(gt: badGT, rewards: ["default": ["error": "ValueError"]]), configs: configs) == nil)
        #expect(RewardConformance.check(caseJSON: vectorsCase(gt: goodGT, rewards: ["error": "JSONDecodeError"]), configs: configs) != nil)
        #expect(RewardConformance.check(caseJSON: vectorsCase(gt: badGT, rewards: ["default": ["score": 4, "format": 1, "correctness": 3, "length": 0]]), configs: configs) != nil)
        #expect(RewardConformance.check(caseJSON: vectorsCase(gt: goodGT, rewards: ["default": ["score": 4, "format": 1, "correctness": 3, "length": 0]]), configs: configs) == nil)
    }

    @Test func caseLevelErrorWithoutRewards() {
        #expect(RewardConformance.check(caseJSON: vectorsCase(gt: badGT, rewards: nil, error: "JSONDecodeError"), configs: configs) == nil)
        #expect(RewardConformance.check(caseJSON: vectorsCase(gt: goodGT, rewards: nil, error: "IndexError"), configs: configs) == nil)
        #expect(RewardConformance.check(caseJSON: vectorsCase(gt: badGT, rewards: nil, error: "IndexError"), configs: configs) != nil)
        #expect(RewardConformance.check(caseJSON: vectorsCase(gt: goodGT, rewards: nil), configs: configs) != nil)
    }
}
