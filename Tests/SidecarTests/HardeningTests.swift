import Capture
import Foundation
import Pipeline
import Sidecar
import Synchronization
import TestSupport
import Testing
import Wire
import WorkQueue

/// Issue 11: CURVE client authentication, bounded memory (in-flight bytes, capture queue),
/// cancellation at the timeout, and worker processes that die without taking the server down.
/// A value shared with a thread the test starts (escaping closures cannot capture a Mutex).
final class Shared<T: Sendable>: Sendable {
    let value: Mutex<T>
    init(_ v: T) { value = Mutex(v) }
}

@Suite(.serialized) struct HardeningTests {
    static func counters(_ c: SidecarClient) throws -> [String: Int] {
        let r = try c.request([Array(#"{"v":1,"op":"stats","id":99}"#.utf8)])
        let h = try r[0].withUnsafeBytes { try ReplyHeader.decode($0, frameCount: r.count) }
        return Dictionary((h.stats ?? []).map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
    }

    static func code(_ r: [[UInt8]]) throws -> (WireErrorCode?, String) {
        let h = try r[0].withUnsafeBytes { try ReplyHeader.decode($0, frameCount: r.count) }
        return (h.error?.code, h.error?.message ?? "")
    }

    // MARK: CURVE

    @Test func curveAllowListServesAllowedKeysOnly() throws {
        let serverKeys = try CurveKeys.generate(), alice = try CurveKeys.generate(), mallory = try CurveKeys.generate()
        var cfg = SidecarConfig(bind: "tcp://127.0.0.1:*", curveSecretKey: serverKeys.secretKey)
        cfg.curveAllow = [alice.publicKey]
        try withServer(cfg, keepBind: true) { server, ep in
            #expect(ep.hasPrefix("tcp://127.0.0.1:"))
            #expect(server.curvePublicKey == serverKeys.publicKey)
            let ok = try SidecarClient(endpoint: ep, timeoutMillis: 10_000, curveServerKey: serverKeys.publicKey,
                                       curvePublicKey: alice.publicKey, curveSecretKey: alice.secretKey)
            let reply = try decodeReply(try ok.request(shapeFrames(id: 3, ids: [1, 2], mask: [1, 1], batch: 1, gts: ["x"])))
            #expect(reply.header.isOK && reply.header.id == 3)
            #expect(try Self.counters(ok)["auth_refused"] == 0)

            let refused = try SidecarClient(endpoint: ep, timeoutMillis: 1500, curveServerKey: serverKeys.publicKey,
                                            curvePublicKey: mallory.publicKey, curveSecretKey: mallory.secretKey)
            #expect(throws: WireError(.timeout, "no reply within 1500 ms")) {
                try refused.request([Array(#"{"v":1,"op":"ping","id":1}"#.utf8)])
            }
            // A client with a fresh key but the right server key (encryption only) is refused too.
            let anonymous = try SidecarClient(endpoint: ep, timeoutMillis: 1500, curveServerKey: serverKeys.publicKey)
            #expect(throws: WireError.self) { try anonymous.request([Array(#"{"v":1,"op":"ping","id":2}"#.utf8)]) }
            let refusals = try Self.counters(ok)["auth_refused"] ?? 0
            #expect(refusals >= 2, "refused handshakes are counted (\(refusals))")
            #expect(server.metrics.prometheus(inFlight: 0, queueDepth: 0, workers: 1).contains("rest_shaper_auth_refused_total"))
        }
    }

    @Test func networkBindsNeedCurveWithAnAllowList() throws {
        let keys = try CurveKeys.generate()
        #expect(throws: SidecarError.self) { try EndpointPolicy.check(SidecarConfig(bind: "tcp://0.0.0.0:5555", curveSecretKey: keys.secretKey)) }
        var cfg = SidecarConfig(bind: "tcp://0.0.0.0:5555", curveSecretKey: keys.secretKey)
        cfg.curveAllow = [keys.publicKey]
        try EndpointPolicy.check(cfg)
        var noKey = SidecarConfig(bind: "ipc:///tmp/x.sock")
        noKey.curveAllow = [keys.publicKey]
        #expect(throws: SidecarError.self) { try EndpointPolicy.check(noKey) }
        #expect(throws: SidecarError.self) { try EndpointPolicy.check(SidecarConfig(bind: "ipc:///tmp/x.sock", curveSecretKey: "short")) }
        #expect(try CurveKeys.publicKey(secret: keys.secretKey) == keys.publicKey)
    }

    @Test func allowListFile() throws {
        let a = try CurveKeys.generate(), b = try CurveKeys.generate()
        let path = "/tmp/rs-allow-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).txt"
        defer { unlink(path) }
        try "# trainers\n\(a.publicKey)\n\n  \(b.publicKey)  # second node\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try CurveKeys.allowList(path: path) == [a.publicKey, b.publicKey])
        try "\(a.publicKey)\nnot-a-key\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: SidecarError.self) { try CurveKeys.allowList(path: path) }
    }

    // MARK: bounded memory, cancellation

    @Test func inflightByteBudgetAnswersBusy() throws {
        let slow = shapeFrames(id: 1, ids: [1], mask: [1], batch: 1, gts: ["sleep"])
        var cfg = SidecarConfig()
        cfg.workers = 1
        cfg.maxInflightBytes = slow.reduce(0) { $0 + $1.count } + 8 // room for one such request
        try withServer(cfg, shaper: FakeShaper(sleepMillis: 500)) { _, ep in
            let c = try SidecarClient(endpoint: ep)
            c.send(slow)
            c.send(shapeFrames(id: 2, ids: [1], mask: [1], batch: 1, gts: ["x"]))
            var codes: [Int: (WireErrorCode?, String)] = [:]
            for _ in 0..<2 {
                let r = try c.receive()
                let h = try r[0].withUnsafeBytes { try ReplyHeader.decode($0, frameCount: r.count) }
                codes[h.id ?? -1] = (h.error?.code, h.error?.message ?? "")
            }
            #expect(codes[1]?.0 == nil)
            #expect(codes[2]?.0 == .busy && codes[2]?.1.contains("max_inflight_bytes") == true)
            // Nothing held any more: the next request is admitted.
            #expect(try decodeReply(try c.request(shapeFrames(id: 3, ids: [1], mask: [1], batch: 1, gts: ["x"]))).header.isOK)
            #expect(try Self.counters(c)["inflight_bytes"] == 0)
        }
    }

    /// A shaper that works row by row for up to 5 s and notes when a cancellation stopped it.
    final class RowByRowShaper: Shaper {
        let stoppedAfter = Mutex<Double?>(nil)
        func shape(_ r: ShapeRequest) throws -> ShapeResult {
            let t0 = Date()
            for _ in 0..<100 {
                if r.cancellation?.isCancelled == true {
                    stoppedAfter.withLock { $0 = Date().timeIntervalSince(t0) }
                    throw ShapeError.cancelled
                }
                usleep(50_000)
            }
            return try FakeShaper().shape(r)
        }
    }

    @Test func timedOutRequestIsCancelledAtTheNextRow() throws {
        var cfg = SidecarConfig()
        cfg.workers = 1
        cfg.limits.timeoutMillis = 300
        let shaper = RowByRowShaper()
        try withServer(cfg, shaper: shaper) { _, ep in
            let c = try SidecarClient(endpoint: ep)
            #expect(try Self.code(try c.request(shapeFrames(id: 1, ids: [1], mask: [1], batch: 1, gts: ["x"]))).0 == .timeout)
            for _ in 0..<100 where shaper.stoppedAfter.withLock({ $0 }) == nil { usleep(20_000) }
            let stopped = try #require(shaper.stoppedAfter.withLock { $0 })
            #expect(stopped < 1.5, "stopped \(stopped) s after it started, not after the whole 5 s")
            #expect(try Self.counters(c)["cancelled"] == 1)
        }
    }

    @Test func engineStopsAtARowBoundaryWhenCancelled() throws {
        let engine = ShapingEngine(tokenizer: try TestFixtures.qwenTokenizer(), threads: 1)
        var r = ShapeRequest(inputIDs: [Int32](repeating: 1, count: 64), mask: [Float](repeating: 1, count: 64), batch: 8, length: 8,
                             groundTruths: Array(repeating: "", count: 8), step: 0)
        #expect(try engine.shape(r).weights.count == 64)
        r.cancellation = CancellationFlag()
        r.cancellation?.cancel()
        #expect(throws: ShapeError.cancelled) { try engine.shape(r) }
        #expect(ShapeError.cancelled.code == "timeout")
    }

    // MARK: capture queue

    /// A capture written into a pipe nobody reads blocks its writer thread; the bounded queue then
    /// drops records (counted) instead of blocking the server or growing. Once the pipe is read,
    /// the stream holds every record that was not dropped, intact.
    @Test func fullCaptureQueueDropsAndCounts() throws {
        let fifo = "/tmp/rs-capfifo-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        #expect(mkfifo(fifo, 0o600) == 0)
        defer { unlink(fifo) }
        let reader = open(fifo, O_RDONLY | O_NONBLOCK)
        #expect(reader >= 0)
        let writer = try CaptureWriter(path: fifo, capacity: 2, costLimit: 1 << 30)
        let big = [UInt8](repeating: 7, count: 256 << 10) // larger than a pipe's buffer: the first write blocks
        var accepted = 0
        for i in 0..<20 {
            if writer.append(request: OwnedFrames([Array("{\"id\":\(i)}".utf8), big]), reply: OwnedFrames([Array("{}".utf8)])) { accepted += 1 }
        }
        #expect(writer.droppedRecords == 20 - accepted)
        #expect(writer.droppedRecords >= 15, "at most the one being written and two queued were accepted")
        // Drain the pipe while the writer finishes, then read the stream back.
        _ = fcntl(reader, F_SETFL, 0)
        let collected = Shared<[UInt8]>([])
        let done = DispatchSemaphore(value: 0)
        Thread {
            var buf = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = buf.withUnsafeMutableBytes { read(reader, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                collected.value.withLock { $0 += buf[0..<n] }
            }
            done.signal()
        }.start()
        try writer.close()
        done.wait()
        close(reader)
        let path = fifo + ".rscap"
        defer { unlink(path) }
        FileManager.default.createFile(atPath: path, contents: Data(collected.value.withLock { $0 }))
        let r = try CaptureReader(path: path)
        var n = 0
        while r.next() != nil { n += 1 }
        #expect(r.tailProblem == nil && n == accepted && writer.recordsWritten == accepted)
    }

    // MARK: the queue primitive

    @Test func boundedQueue() throws {
        let q = BoundedQueue<Int>(capacity: 3, costLimit: 10)
        #expect(q.tryPush(1, cost: 4) && q.tryPush(2, cost: 4))
        #expect(!q.tryPush(3, cost: 4), "over the cost limit")
        #expect(q.tryPush(3, cost: 2))
        #expect(!q.tryPush(4), "over the capacity")
        #expect(q.count == 3 && q.cost == 10)
        let t0 = Date()
        #expect(!q.push(5, waitingUpToMillis: 100))
        #expect(Date().timeIntervalSince(t0) >= 0.09)
        #expect(q.pop() == 1 && q.tryPop() == 2)
        #expect(q.popAll() == [3] && q.tryPop() == nil)
        #expect(q.tryPush(9, cost: 1000), "an oversized element still fits an empty queue")
        _ = q.pop()
        let got = Shared<[Int]>([])
        let done = DispatchSemaphore(value: 0)
        Thread { while let x = q.pop() { got.value.withLock { $0.append(x) } }; done.signal() }.start()
        for i in 0..<100 { #expect(q.push(i, waitingUpToMillis: 5_000)) }
        q.close()
        done.wait()
        #expect(got.value.withLock { $0 } == Array(0..<100))
        #expect(!q.tryPush(1), "closed")
    }
}
