import Foundation
import HTTPFront
import PyJSON
import Testing

/// The reward routes against the golden vectors, reply shapes, and every refusal.
@Suite("HTTP front routes") struct RoutesTests {
    /// Every golden vector case under every reward config, through both routes, equals the vector
    /// (1e-9, as `conformance`).
    @Test func goldenVectorRewardsThroughBothRoutes() async throws {
        let doc = try FrontHarness.vectors()
        let configs = try #require(doc["reward_configs"]?.arrayValue)
        let cases = try #require(doc["cases"]?.arrayValue)
        let compared = try await FrontHarness.withFront { _, port in
            var compared = 0
            for cfg in configs {
                let name = try #require(cfg["name"]?.stringValue)
                var query = "?reward=rest&step=\(cfg["step"]?.intValue ?? 0)&flag=none"
                for (k, v) in cfg["env"]?.objectValue?.pairs ?? [] where v.stringValue == "1" { query += "&flag=\(k)" }
                let solutions = cases.compactMap { $0["solution_str"]?.stringValue }
                let truths = cases.compactMap { $0["ground_truth"]?.stringValue }
                #expect(solutions.count == cases.count && truths.count == cases.count)

                // OpenRLHF: the whole batch in one request (0.9.x shape).
                let body: JSONValue = ["query": .array(solutions.map { .string($0) }),
                                       "prompts": .array(solutions.map { .string(FrontHarness.splitPrompt($0).prompt) }),
                                       "labels": .array(truths.map { .string($0) })]
                let reply = try await FrontHarness.post(port, "/openrlhf/get_reward\(query)", json: FrontHarness.json(body))
                #expect(reply.status == 200, "\(name): \(reply.text)")
                let out = try FrontHarness.parse(reply)
                let rewards = try #require(out["rewards"]?.arrayValue)
                let logs = try #require(out["extra_logs"])
                #expect(out["scores"]?.arrayValue?.count == cases.count)
                for (i, c) in cases.enumerated() {
                    let want = try #require(c["rewards"]?[name], "\(name) missing in \(c["id"]?.stringValue ?? "?")")
                    let got: [(String, Double?)] = [("score", rewards[i].doubleValue), ("format", logs["format"]?[i]?.doubleValue),
                                                    ("correctness", logs["correctness"]?[i]?.doubleValue), ("length", logs["length"]?[i]?.doubleValue)]
                    for (key, value) in got { expectClose(value, want[key]?.doubleValue, "openrlhf \(name) \(i) \(key)") }
                    compared += 1
                }

                // slime: one sample per request.
                for c in cases {
                    let (prompt, response) = FrontHarness.splitPrompt(c["solution_str"]?.stringValue ?? "")
                    let body: JSONValue = ["prompt": .string(prompt), "response": .string(response), "label": c["ground_truth"] ?? .null]
                    let r = try FrontHarness.parse(try await FrontHarness.post(port, "/slime/reward\(query)", json: FrontHarness.json(body)))
                    let want = try #require(c["rewards"]?[name])
                    for (key, wkey) in [("reward", "score"), ("format", "format"), ("correctness", "correctness"), ("length", "length")] {
                        expectClose(r[key]?.doubleValue, want[wkey]?.doubleValue, "slime \(name) \(key)")
                    }
                    compared += 1
                }
            }
            return compared
        }
        #expect(compared == 2 * configs.count * cases.count)
        #expect(compared == 2 * 14 * 26)
    }

    @Test func slimePlainAndAlias() async throws {
        let c = try #require(try FrontHarness.vectors()["cases"]?[0])
        let (prompt, response) = FrontHarness.splitPrompt(c["solution_str"]?.stringValue ?? "")
        let body = FrontHarness.json(["prompt": .string(prompt), "response": .string(response), "label": c["ground_truth"] ?? .null])
        try await FrontHarness.withFront { _, port in
            let plain = try await FrontHarness.post(port, "/slime/reward?plain=1", json: body)
            #expect(plain.status == 200)
            #expect(plain.text == "4.0")
            // OpenRLHF's default path is /get_reward.
            let q = FrontHarness.json(["query": [.string(prompt + response)], "prompts": [.string(prompt)], "labels": [c["ground_truth"] ?? .null]])
            let alias = try FrontHarness.parse(try await FrontHarness.post(port, "/get_reward", json: q))
            #expect(alias["rewards"]?[0]?.doubleValue == 4.0)
            #expect(alias["step"]?.intValue == 0)
            #expect(alias["errors"] == nil)
        }
    }

    /// A ground truth the reference reward raises on: reward 0, flagged per row, the batch still answered.
    @Test func rowWhoseReferenceRaisesIsFlagged() async throws {
        let gt = "<think>x</think>\n<tool_call>\n{not json\n</tool_call>"
        let ok = "<think>x</think>\n<response>hi</response>"
        let body = FrontHarness.json(["query": ["<|im_start|>assistant\n<think>a</think>\n<tool_call>\n{\"name\": \"f\", \"parameters\": {}}\n</tool_call>",
                                                "<|im_start|>assistant\n<think>a</think>\n<response>hi</response>"],
                                      "labels": [.string(gt), .string(ok)]])
        try await FrontHarness.withFront { _, port in
            let out = try FrontHarness.parse(try await FrontHarness.post(port, "/openrlhf/get_reward", json: body))
            #expect(out["rewards"]?[0]?.doubleValue == 0)
            #expect(out["extra_logs"]?["reward_error"]?.arrayValue?.compactMap(\.doubleValue) == [1, 0])
            #expect(out["errors"]?[0]?["index"]?.intValue == 0)
            #expect(out["errors"]?[0]?["code"]?.stringValue == "reward_error")
            #expect(out["errors"]?.arrayValue?.count == 1)
        }
    }

    /// Each malformed request gets its 4xx code; the same keep-alive connection goes on serving.
    @Test func malformedBodiesGet4xxAndTheConnectionKeepsServing() async throws {
        let cases: [(String, [UInt8], Int, String)] = [
            ("/openrlhf/get_reward", Array("{\"query\": [\"a\"], ".utf8), 400, "bad_header"),
            ("/openrlhf/get_reward", Array("[1, 2]".utf8), 400, "bad_header"),
            ("/openrlhf/get_reward", Array("{\"labels\": [\"x\"]}".utf8), 400, "bad_header"),
            ("/openrlhf/get_reward", Array("{\"query\": [\"a\", 3], \"labels\": [\"x\", \"y\"]}".utf8), 400, "bad_header"),
            ("/openrlhf/get_reward", Array("{\"query\": [\"a\"], \"labels\": [\"x\", \"y\"]}".utf8), 400, "shape"),
            ("/openrlhf/get_reward", Array("{\"query\": [\"a\"], \"prompts\": [], \"labels\": [\"x\"]}".utf8), 400, "shape"),
            ("/openrlhf/get_reward", [0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D], 400, "utf8"),
            ("/openrlhf/get_reward?reward=nope", Array("{\"query\": [], \"labels\": []}".utf8), 400, "bad_header"),
            ("/openrlhf/get_reward?flag=NOPE", Array("{\"query\": [], \"labels\": []}".utf8), 400, "bad_header"),
            ("/openrlhf/get_reward?step=-1", Array("{\"query\": [], \"labels\": []}".utf8), 400, "value"),
            ("/openrlhf/get_reward?step=1.5", Array("{\"query\": [], \"labels\": []}".utf8), 400, "value"),
            ("/openrlhf/get_reward?step=x", Array("{\"query\": [], \"labels\": []}".utf8), 400, "bad_header"),
            ("/openrlhf/get_reward?stp=1", Array("{\"query\": [], \"labels\": []}".utf8), 400, "bad_header"),
            ("/openrlhf/get_reward?flag=SCHEDULEREWARD", Array("{\"query\": [\"a\"], \"labels\": [\"b\"]}".utf8), 400, "bad_header"),
            ("/slime/reward", Array("{\"prompt\": [{\"role\": \"user\"}], \"response\": \"r\", \"label\": \"l\"}".utf8), 400, "bad_header"),
            ("/slime/reward", Array("{\"prompt\": \"p\", \"response\": \"r\"}".utf8), 400, "bad_header"),
            ("/slime/reward?plain=2", Array("{\"prompt\": \"p\", \"response\": \"r\", \"label\": \"l\"}".utf8), 400, "bad_header"),
            ("/nowhere", Array("{}".utf8), 404, "not_found"),
        ]
        try await FrontHarness.withFront { _, port in
            try await HTTPFrontClient.withConnection(host: "127.0.0.1", port: port) { client in
                for (path, body, status, code) in cases {
                    let r = try await client.request(.POST, path, body: body)
                    #expect(r.status == status, "\(path) \(String(decoding: body, as: UTF8.self)): \(r.text)")
                    let e = try FrontHarness.parse(r)
                    #expect(e["error"]?["code"]?.stringValue == code, "\(path): \(r.text)")
                    #expect((e["error"]?["message"]?.stringValue ?? "").isEmpty == false)
                }
                let ok = try await client.post("/openrlhf/get_reward", json: "{\"query\": [\"x\"], \"labels\": [\"y\"]}")
                #expect(ok.status == 200, "\(ok.text)")
                #expect(try FrontHarness.parse(ok)["rewards"]?.arrayValue?.count == 1)
            }
        }
    }

    /// A body over the limit is refused from its Content-Length (and, without one, at the limit),
    /// its connection closed; the server keeps serving others.
    @Test func oversizedBodyIsRefusedAndTheServerKeepsServing() async throws {
        var config = HTTPFrontConfig(port: 0)
        config.maxBodyBytes = 1024
        try await FrontHarness.withFront(config) { _, port in
            let big = "{\"query\": [\"" + String(repeating: "a", count: 4096) + "\"], \"labels\": [\"x\"]}"
            let r = try await FrontHarness.post(port, "/openrlhf/get_reward", json: big)
            #expect(r.status == 413)
            #expect(try FrontHarness.parse(r)["error"]?["code"]?.stringValue == "limit")
            let small = try await FrontHarness.post(port, "/openrlhf/get_reward", json: "{\"query\": [\"x\"], \"labels\": [\"y\"]}")
            #expect(small.status == 200)
        }
        var batchLimit = HTTPFrontConfig(port: 0)
        batchLimit.maxBatch = 2
        try await FrontHarness.withFront(batchLimit) { _, port in
            let r = try await FrontHarness.post(port, "/openrlhf/get_reward", json: "{\"query\": [\"a\", \"b\", \"c\"], \"labels\": [\"x\", \"y\", \"z\"]}")
            #expect(r.status == 413)
            #expect(try FrontHarness.parse(r)["error"]?["code"]?.stringValue == "limit")
        }
    }

    @Test func stepFromQueryHeaderOrRunningCounter() async throws {
        let one = "{\"query\": [\"x\"], \"labels\": [\"y\"]}"
        let three = "{\"query\": [\"x\", \"x\", \"x\"], \"labels\": [\"y\", \"y\", \"y\"]}"
        var config = HTTPFrontConfig(port: 0)
        config.samplesPerStep = 4
        try await FrontHarness.withFront(config) { _, port in
            func step(_ path: String, _ body: String, _ headers: [(String, String)] = []) async throws -> Int? {
                try FrontHarness.parse(try await FrontHarness.post(port, path, json: body, headers: headers))["step"]?.intValue
            }
            #expect(try await step("/get_reward?step=7", one) == 7)
            #expect(try await step("/get_reward", one, [("X-Rest-Shaper-Step", "9")]) == 9)
            #expect(try await step("/get_reward?step=5", one, [("X-Rest-Shaper-Step", "9")]) == 5)
            // The counter: rows 0-2 → step 1, rows 3-5 → step 1 (row 3 < 4), rows 6-8 → step 2, …
            #expect(try await step("/get_reward?flag=SCHEDULEREWARD", three) == 1)
            #expect(try await step("/get_reward?flag=SCHEDULEREWARD", three) == 1)
            #expect(try await step("/get_reward?flag=SCHEDULEREWARD", three) == 2)
            #expect(try await step("/slime/reward", "{\"prompt\": \"\", \"response\": \"x\", \"label\": \"y\"}") == 3)
            let health = try FrontHarness.parse(try await FrontHarness.get(port, "/healthz"))
            #expect(health["step"]?.intValue == 3)
            #expect(health["status"]?.stringValue == "ok")
        }
    }

    @Test func metricsHealthAndCounters() async throws {
        let metrics = FixedMetrics()
        try await FrontHarness.withFront(metrics: metrics) { _, port in
            let m = try await FrontHarness.get(port, "/metrics")
            #expect(m.status == 200)
            #expect(m.text == FixedMetrics().prometheusText())
            let h = try FrontHarness.parse(try await FrontHarness.get(port, "/healthz"))
            #expect(h["status"]?.stringValue == "ok")
            #expect(h["in_flight"]?.intValue == 0)
            #expect(try await FrontHarness.post(port, "/get_reward", json: "{\"query\": [\"a\", \"b\"], \"labels\": [\"x\", \"y\"]}").status == 200)
            #expect(try await FrontHarness.post(port, "/slime/reward", json: "{}").status == 400)
            #expect(try await FrontHarness.get(port, "/nope").status == 404)
        }
        let c = metrics.counted.withLock { $0 }
        #expect(c.requests == ["metrics": 1, "healthz": 1, "openrlhf": 1, "slime": 1, "other": 1])
        #expect(c.errors == ["bad_header": 1, "not_found": 1])
        #expect(c.rows == 2)
    }

    @Test func tokenIsRequiredWhenSet() async throws {
        var config = HTTPFrontConfig(port: 0)
        config.token = "s3cret"
        let body = "{\"query\": [\"x\"], \"labels\": [\"y\"]}"
        try await FrontHarness.withFront(config) { _, port in
            let none = try await FrontHarness.post(port, "/get_reward", json: body)
            #expect(none.status == 401)
            #expect(try FrontHarness.parse(none)["error"]?["code"]?.stringValue == "unauthorized")
            let wrong = try await FrontHarness.post(port, "/get_reward", json: body, headers: [("Authorization", "Bearer s3cres")])
            #expect(wrong.status == 401)
            let bearer = try await FrontHarness.post(port, "/get_reward", json: body, headers: [("Authorization", "Bearer s3cret")])
            #expect(bearer.status == 200)
            // http://rs:s3cret@host/… in a URL: requests and aiohttp send Basic auth.
            let basic = "Basic " + Data("rs:s3cret".utf8).base64EncodedString()
            #expect(try await FrontHarness.post(port, "/get_reward", json: body, headers: [("Authorization", basic)]).status == 200)
            #expect(try await FrontHarness.get(port, "/metrics").status == 401)
        }
    }
}

func expectClose(_ got: Double?, _ want: Double?, _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
    guard let got, let want else {
        Issue.record("\(label): got \(String(describing: got)), want \(String(describing: want))", sourceLocation: sourceLocation)
        return
    }
    #expect(abs(got - want) <= 1e-9 * max(1, abs(want)), "\(label): got \(got), want \(want)", sourceLocation: sourceLocation)
}
