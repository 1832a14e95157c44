import Console
import Synchronization
import Testing

/// A clock the test moves by hand.
final class FakeClock: Sendable {
    let now = Mutex(100.0)
    func advance(_ s: Double) { now.withLock { $0 += s } }
    var read: @Sendable () -> Double { { [self] in now.withLock { $0 } } }
}

@Suite struct ProgressMeterTests {
    @Test func barRedrawsInPlaceWithCountRateAndETA() {
        let out = CapturedStream(isTerminal: true, columns: 120)
        let clock = FakeClock()
        let m = ProgressMeter("train", total: 10, unit: .items("steps"), stream: out, clock: clock.read)
        #expect(m.mode == .bar)
        #expect(out.text.hasPrefix("\rtrain [····················] 0/10 0%"))  // drawn at once
        clock.advance(2)
        m.update(4, note: "reward 0.5")
        let text = out.text
        #expect(text.contains("\rtrain [████████············] 4/10 40% 2.00 steps/s ETA 0:03 · reward 0.5\u{1B}[K"))
        #expect(!text.contains("\n"))  // redrawn in place, never a new line
        m.message("step 4 · reward 0.5")
        #expect(out.text.contains("\r\u{1B}[Kstep 4 · reward 0.5\n\rtrain ["))  // report line above, bar drawn again
        clock.advance(3)
        m.update(10)
        m.finish()
        #expect(out.text.hasSuffix("10/10 100% 2.00 steps/s in 0:05 · reward 0.5\u{1B}[K\n"))
    }

    @Test func barRedrawsAtMostTenTimesASecond() {
        let out = CapturedStream(isTerminal: true)
        let clock = FakeClock()
        let m = ProgressMeter("x", total: 1000, stream: out, clock: clock.read)
        for i in 1...100 { m.update(i) }  // same instant: no redraw after the first
        #expect(out.text.components(separatedBy: "\r").count - 1 == 1)
        clock.advance(0.2)
        m.update(101)
        #expect(out.text.components(separatedBy: "\r").count - 1 == 2)
    }

    @Test func barIsCutToTheTerminalWidth() {
        let out = CapturedStream(isTerminal: true, columns: 30)
        _ = ProgressMeter("a-long-label", total: 100, stream: out, clock: FakeClock().read)
        let drawn = out.text.dropFirst().replacingOccurrences(of: "\u{1B}[K", with: "")
        #expect(drawn.count == 29)
    }

    @Test func logGetsPlainLinesAfterTheGraceThenEveryTenthAndAClosingLine() {
        let out = CapturedStream(isTerminal: false)
        let clock = FakeClock()
        let m = ProgressMeter("shape", total: 100, unit: .items("rows"), stream: out, clock: clock.read)
        #expect(m.mode == .lines)
        m.update(1)
        #expect(out.text.isEmpty)  // within the first two seconds: nothing
        clock.advance(2)
        m.update(2)
        #expect(out.text == "shape 2/100 2% 1.00 rows/s ETA 1:38\n")
        m.update(5)
        #expect(out.text.split(separator: "\n").count == 1)
        m.update(12)
        #expect(out.text.split(separator: "\n").count == 2)  // ten more items
        clock.advance(10)
        m.update(13)
        #expect(out.text.split(separator: "\n").count == 3)  // ten seconds later
        #expect(!out.text.contains("\r") && !out.text.contains("\u{1B}"))
        m.finish()
        #expect(out.text.hasSuffix("shape 13/100 13% 1.08 rows/s in 0:12\n"))
    }

    @Test func etaFollowsTheRecentRateNotAFastStart() {
        let out = CapturedStream(isTerminal: false)
        let clock = FakeClock()
        let m = ProgressMeter("x", total: 100, stream: out, clock: clock.read)
        clock.advance(1)
        m.update(10)  // a fast warm-up: 10 items in a second
        for i in 1...4 { clock.advance(10); m.update(10 + i) }  // then one item every 10 s
        // Overall 14 items in 41 s; the ETA uses the last 30-odd seconds: 4 items in 40 s, 86 left.
        #expect(out.text.hasSuffix("x 14/100 14% 0.34 items/s ETA 14:20\n"), "\(out.text)")
    }

    @Test func quickRunLeavesNothingInALog() {
        let out = CapturedStream(isTerminal: false)
        let m = ProgressMeter("conformance", total: nil, unit: .items("cases"), stream: out, clock: FakeClock().read)
        for i in 1...50 { m.update(i) }
        m.finish()
        #expect(out.text.isEmpty)
    }

    @Test func quietWritesNothingAtAll() {
        for terminal in [true, false] {
            let out = CapturedStream(isTerminal: terminal)
            let clock = FakeClock()
            let m = ProgressMeter("train", total: 10, quiet: true, stream: out, clock: clock.read)
            #expect(m.mode == .off)
            clock.advance(5)
            m.update(5); m.message("step 5"); m.finish()
            #expect(out.text.isEmpty)
        }
    }

    @Test func bytesAndUnknownTotals() {
        let out = CapturedStream(isTerminal: true)
        let clock = FakeClock()
        let m = ProgressMeter("replay", total: 4 << 20, unit: .bytes, stream: out, clock: clock.read)
        clock.advance(1)
        m.update(1 << 20)
        #expect(out.text.contains("1.0 MiB/4.0 MiB 25% 1.0 MiB/s ETA 0:03"))
        let out2 = CapturedStream(isTerminal: true)
        let n = ProgressMeter("conformance", total: nil, unit: .items("cases"), stream: out2, clock: clock.read)
        clock.advance(0.5)
        n.update(50)
        #expect(out2.text.contains("conformance 50 100 cases/s"))
        #expect(!out2.text.contains("ETA"))
    }

    @Test func formatting() {
        #expect(ProgressMeter.duration(7) == "0:07")
        #expect(ProgressMeter.duration(3723) == "1:02:03")
        #expect(ProgressMeter.compact(0.4242) == "0.42")
        #expect(ProgressMeter.compact(12345) == "12.3k")
        #expect(ProgressMeter.compact(4_560_000) == "4.56M")
        #expect(ProgressMeter.bytes(532) == "532 B")
        #expect(ProgressMeter.bytes(1536) == "1.5 KiB")
    }
}
