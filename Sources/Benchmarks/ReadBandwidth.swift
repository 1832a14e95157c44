import CKernels

/// A plain streaming-read loop (sum of a float buffer, split across threads): the reference the
/// entropy benchmark divides its own bytes/s by.
public enum ReadBandwidth {
    /// Sums `data` with `threads` threads (0 = all cores) and returns the sum (so the loop cannot
    /// be optimised away); time it to get the read bandwidth.
    @discardableResult
    public static func streamSum(_ data: UnsafeBufferPointer<Float>, threads: Int) -> Double {
        ck_stream_read_sum(data.baseAddress, data.count, Int32(clamping: threads))
    }
}
