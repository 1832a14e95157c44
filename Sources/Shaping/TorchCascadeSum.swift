/// The float32 sum of a contiguous vector in exactly the order of PyTorch's CPU `sum` kernel
/// (`aten/src/ATen/native/cpu/SumKernel.cpp`, AVX2 build: 8-lane vectors, 4-way ILP, 4-level cascade),
/// so that a row mean matches the released code bit for bit rather than within a few ulp.
///
/// Structure for n ≥ 8 (`vectorized_inner_sum`): the first ⌊n/8⌋ 8-lane vectors are summed by
/// `row_sum` (4 interleaved accumulators, each a cascade `multi_row_sum` of level step
/// 2^max(4, ⌈log2(⌊v/4⌋)⌉/4)); leftover vectors go into accumulator 0; accumulators 1…3 are added to 0;
/// then a scalar accumulator starts with the ≤ 7 tail elements and adds the 8 lanes in order.
/// For n < 8 the same `row_sum` runs on scalars.
public enum TorchCascadeSum {
    /// Sum of `x` in PyTorch's order, float32 throughout.
    public static func sum(_ x: UnsafeBufferPointer<Float>) -> Float {
        let n = x.count
        guard n > 0 else { return 0 }
        if n < 8 {
            var lane: Float = 0
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 4) { p in
                rowSum(x, lanes: 1, count: n, into: p.baseAddress!)
                lane = p[0]
            }
            return 0 + lane
        }
        let vecCount = n / 8
        var acc: Float = 0
        for k in (vecCount * 8)..<n { acc += x[k] }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { p in
            rowSum(x, lanes: 8, count: vecCount, into: p.baseAddress!)
            for l in 0..<8 { acc += p[l] }
        }
        return acc
    }

    /// `row_sum` over `count` elements of width `lanes` (element e is x[e*lanes ..< e*lanes+lanes]);
    /// writes the `lanes`-wide result to `out[0..<lanes]` (out needs 4·lanes floats of scratch).
    private static func rowSum(_ x: UnsafeBufferPointer<Float>, lanes: Int, count: Int, into out: UnsafeMutablePointer<Float>) {
        let ilp = 4
        let sizeILP = count / ilp
        // partial[k] for k in 0..<4, each `lanes` wide, stored at out[k*lanes].
        multiRowSum(x, lanes: lanes, rows: sizeILP, into: out)
        for e in (sizeILP * ilp)..<count {
            for l in 0..<lanes { out[l] += x[e * lanes + l] }
        }
        for k in 1..<ilp {
            for l in 0..<lanes { out[l] += out[k * lanes + l] }
        }
    }

    /// `multi_row_sum<acc, nrows = 4>`: row i, column k is element 4i + k.
    private static func multiRowSum(_ x: UnsafeBufferPointer<Float>, lanes: Int, rows size: Int, into out: UnsafeMutablePointer<Float>) {
        let levels = 4, nrows = 4
        let levelPower = max(4, ceilLog2(size) / levels)
        let levelStep = 1 << levelPower
        let levelMask = levelStep - 1
        let width = nrows * lanes
        withUnsafeTemporaryAllocation(of: Float.self, capacity: levels * width) { accBuf in
            let acc = accBuf.baseAddress!
            acc.initialize(repeating: 0, count: levels * width)
            @inline(__always) func load(_ i: Int) {
                let base = i * width  // row i starts at element 4i → float index 4i·lanes
                for q in 0..<width { acc[q] += x[base + q] }
            }
            var i = 0
            while i + levelStep <= size {
                for _ in 0..<levelStep { load(i); i += 1 }
                for j in 1..<levels {
                    for q in 0..<width {
                        acc[j * width + q] += acc[(j - 1) * width + q]
                        acc[(j - 1) * width + q] = 0
                    }
                    let mask = levelMask << (j * levelPower)
                    if i & mask != 0 { break }
                }
            }
            while i < size { load(i); i += 1 }
            for j in 1..<levels {
                for q in 0..<width { acc[q] += acc[j * width + q] }
            }
            for q in 0..<width { out[q] = acc[q] }
        }
    }

    /// c10 `CeilLog2`: 1 for x ≤ 2, else ⌊log2(x − 1)⌋ + 1.
    private static func ceilLog2(_ x: Int) -> Int {
        if x <= 2 { return 1 }
        return (Int.bitWidth - (x - 1).leadingZeroBitCount - 1) + 1
    }
}
