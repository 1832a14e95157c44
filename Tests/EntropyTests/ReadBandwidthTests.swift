import Testing
import Benchmarks
import Entropy

/// The benchmark's streaming-read loop really reads every element (its sum is exact for small
/// integers), whatever the thread count and length.
@Suite struct ReadBandwidthTests {
    @Test(arguments: [0, 1, 2, 3, 7])
    func sumsEverything(threads: Int) {
        for n in [0, 1, 63, 64, 65, 100_003] {
            let data = (0..<n).map { Float($0 % 5) }
            let expected = data.reduce(0.0) { $0 + Double($1) }
            #expect(data.withUnsafeBufferPointer { ReadBandwidth.streamSum($0, threads: threads) } == expected)
        }
    }
}
