import Foundation
import Testing
import PyJSON
import Rewards

/// Loads a vendored fixture.
func fixture(_ name: String, _ ext: String) throws -> [UInt8] {
    let url = try #require(Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Fixtures"))
    return Array(try Data(contentsOf: url))
}

@Suite struct GoldenVectorRewards {
    @Test func everyCaseEveryConfigMatches() throws {
        let doc = try PyJSON.loads(try fixture("rest_vectors_visible", "json"))
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
        let doc = try PyJSON.loads(try fixture("rest_vectors_visible", "json"))
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
        let doc = try PyJSON.loads(try fixture("rest_vectors_visible", "json"))
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
        let bytes = try fixture("reward_refs_test", "jsonl")
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
