#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where text for a person goes: a terminal (redrawn in place) or a log file / pipe (plain lines).
/// The CLI uses ``StandardError``; tests pass a ``CapturedStream``.
public protocol ConsoleStream: AnyObject, Sendable {
    /// Whether the stream is an interactive terminal (carriage returns and escape codes are understood).
    var isTerminal: Bool { get }
    /// Visible width in characters (80 when unknown).
    var columns: Int { get }
    func write(_ text: String)
}

/// A file descriptor as a ``ConsoleStream`` (stderr for progress, stdout for `top`).
public final class FileDescriptorStream: ConsoleStream {
    public let fd: Int32
    public let isTerminal: Bool

    public init(fd: Int32) {
        self.fd = fd
        isTerminal = isatty(fd) != 0
    }

    public var columns: Int { Terminal.columns(fd) ?? 80 }

    public func write(_ text: String) {
        let bytes = Array(text.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { systemWrite(fd, $0.baseAddress! + off, $0.count - off) }
            if n <= 0 { if n < 0 && errno == EINTR { continue }; return }  // a closed stderr loses progress, never results
            off += n
        }
    }

    /// Standard error: progress and report lines (results stay on stdout).
    public static let standardError = FileDescriptorStream(fd: 2)
    /// Standard output.
    public static let standardOutput = FileDescriptorStream(fd: 1)
}

private func systemWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, p, n)
    #else
    return Darwin.write(fd, p, n)
    #endif
}

/// Collects what was written (tests, and callers that render into a string).
public final class CapturedStream: ConsoleStream, @unchecked Sendable {
    public let isTerminal: Bool
    public let columns: Int
    private var buffer = ""
    private var lock = pthread_mutex_t()

    public init(isTerminal: Bool, columns: Int = 100) {
        self.isTerminal = isTerminal; self.columns = columns
        pthread_mutex_init(&lock, nil)
    }

    deinit { pthread_mutex_destroy(&lock) }

    public func write(_ text: String) {
        pthread_mutex_lock(&lock); buffer += text; pthread_mutex_unlock(&lock)
    }

    /// Everything written so far.
    public var text: String {
        pthread_mutex_lock(&lock); defer { pthread_mutex_unlock(&lock) }
        return buffer
    }
}

/// Terminal queries and modes.
public enum Terminal {
    /// The width of the terminal on `fd`, or nil when it is not one.
    public static func columns(_ fd: Int32) -> Int? { size(fd).map { Int($0.ws_col) } }

    /// Number of rows of the terminal on `fd`, or nil.
    public static func rows(_ fd: Int32) -> Int? { size(fd).map { Int($0.ws_row) } }

    private static func size(_ fd: Int32) -> winsize? {
        var ws = winsize()
        #if canImport(Glibc)
        let rc = ioctl(fd, UInt(TIOCGWINSZ), &ws)
        #else
        let rc = ioctl(fd, TIOCGWINSZ, &ws)
        #endif
        return rc == 0 && ws.ws_col > 0 && ws.ws_row > 0 ? ws : nil
    }

    /// Seconds on a monotonic clock.
    public static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// Single-key input from a terminal (no echo, no line buffering; Ctrl-C still interrupts), restored
/// by ``restore()``. Used by `rest-shaper top` to quit on `q`.
public final class KeyReader {
    private let fd: Int32
    private var saved = termios()
    private var active = false

    /// Switches `fd` (stdin) to single-key mode when it is a terminal; otherwise reads nothing.
    public init(fd: Int32 = 0) {
        self.fd = fd
        guard isatty(fd) != 0, tcgetattr(fd, &saved) == 0 else { return }
        var raw = saved
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
        if tcsetattr(fd, TCSANOW, &raw) == 0 { active = true }
    }

    deinit { restore() }

    /// Puts the terminal back as it was.
    public func restore() {
        guard active else { return }
        tcsetattr(fd, TCSANOW, &saved)
        active = false
    }

    /// Waits up to `timeoutMillis` for a key; returns it, or nil on time-out (or without a terminal,
    /// after sleeping the time-out).
    public func key(timeoutMillis: Int) -> UInt8? {
        guard active else {
            usleep(UInt32(clamping: max(0, timeoutMillis) * 1000))
            return nil
        }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, Int32(timeoutMillis)) > 0 else { return nil }
        var c: UInt8 = 0
        return read(fd, &c, 1) == 1 ? c : nil
    }
}
