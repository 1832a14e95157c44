#if canImport(Glibc)
import Glibc
#endif

/// A shared library opened at run time with `dlopen`, so the package builds and runs on machines
/// without CUDA: every CUDA entry point is looked up by name and called through a typed pointer.
final class DynamicLibrary: @unchecked Sendable {
    let path: String
    private let handle: UnsafeMutableRawPointer

    /// Opens the first of `candidates` that loads; throws with every `dlerror()` otherwise.
    init(candidates: [String], what: String) throws {
        var errors: [String] = []
        for c in candidates {
            if let h = dlopen(c, RTLD_NOW | RTLD_LOCAL) {
                handle = h; path = c; return
            }
            if let e = dlerror() { errors.append(String(cString: e)) }
        }
        throw CUDAError.libraryNotFound(what, errors.isEmpty ? candidates : errors)
    }

    /// The symbol `name` as a C function of type `T`.
    func function<T>(_ name: String, as type: T.Type = T.self) throws -> T {
        guard let sym = dlsym(handle, name) else { throw CUDAError.missingSymbol(name, path) }
        return unsafeBitCast(sym, to: T.self)
    }
}

/// Where the CUDA libraries are looked for: an explicit environment variable, the loader's own
/// search path (system CUDA, `LD_LIBRARY_PATH`), the usual toolkit folders, and the `nvidia-*`
/// pip wheels inside a virtual environment (`$VIRTUAL_ENV`, `./.venv`).
enum LibrarySearch {
    static func candidates(env: String, sonames: [String], wheelSubdir: String) -> [String] {
        var out: [String] = []
        if let p = getenv(env) { out.append(String(cString: p)) }
        out += sonames
        for dir in ["/usr/local/cuda/lib64", "/usr/lib/x86_64-linux-gnu", "/usr/local/cuda/targets/x86_64-linux/lib"] {
            out += sonames.map { "\(dir)/\($0)" }
        }
        var venvs: [String] = []
        if let v = getenv("VIRTUAL_ENV") { venvs.append(String(cString: v)) }
        if let cwd = getcwd(nil, 0) { venvs.append(String(cString: cwd) + "/.venv"); free(cwd) }
        for v in venvs {
            for so in sonames {
                out += glob("\(v)/lib/python3*/site-packages/nvidia/\(wheelSubdir)/lib/\(so)")
            }
        }
        return out
    }

    static func glob(_ pattern: String) -> [String] {
        var g = glob_t()
        defer { globfree(&g) }
        guard Glibc.glob(pattern, 0, nil, &g) == 0 else { return [] }
        return (0..<Int(g.gl_pathc)).compactMap { g.gl_pathv[$0].map { String(cString: $0) } }
    }
}
