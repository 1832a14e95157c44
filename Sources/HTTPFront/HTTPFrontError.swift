import HTTPTypes
import Hummingbird
import NIOCore
import PyJSON
import Wire

/// A request the HTTP front refuses: HTTP status + `{"error": {"code", "message"}}`, with the
/// ZeroMQ protocol's error codes (PROTOCOL.md) and two of HTTP's own (`unauthorized`, `not_found`).
package struct HTTPFrontError: Error, HTTPResponseError {
    package let code: String
    package let message: String
    package let status: HTTPResponse.Status
    /// Close the connection after the reply (a refused body is not read to its end).
    var closeConnection = false

    init(_ code: WireErrorCode, _ message: String) {
        self.code = code.rawValue
        self.message = message
        switch code {
        case .limit: status = .contentTooLarge
        case .busy: status = .serviceUnavailable
        case .timeout: status = .gatewayTimeout
        case .internal: status = .internalServerError
        default: status = .badRequest
        }
    }

    private init(code: String, message: String, status: HTTPResponse.Status) {
        self.code = code; self.message = message; self.status = status
    }

    static func unauthorized(_ message: String) -> HTTPFrontError {
        HTTPFrontError(code: "unauthorized", message: message, status: .unauthorized)
    }

    static func notFound(_ message: String) -> HTTPFrontError {
        HTTPFrontError(code: "not_found", message: message, status: .notFound)
    }

    package func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if status == .serviceUnavailable { headers[.retryAfter] = "1" }
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer realm=\"rest-shaper\"" }
        if closeConnection { headers[.connection] = "close" }
        let body: JSONValue = ["error": ["code": .string(code), "message": .string(message)]]
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: JSONBody.encode(body))))
    }
}

/// JSON bodies in and out: Python `json` semantics (the trainers are Python; floats round-trip
/// exactly through `repr`), compact, ASCII-only.
enum JSONBody {
    static func encode(_ value: JSONValue) -> String {
        PyJSON.dumps(value, ensureASCII: true, itemSeparator: ",", keySeparator: ":")
    }

    /// Parses a request body; invalid UTF-8 is `utf8`, anything else unparsable `bad_header`.
    static func decode(_ buffer: ByteBuffer) throws(HTTPFrontError) -> JSONValue {
        let result: Result<JSONValue, JSONError> = buffer.withUnsafeReadableBytes { raw in
            do throws(JSONError) { return .success(try PyJSON.loads(raw)) } catch { return .failure(error) }
        }
        switch result {
        case .success(let v): return v
        case .failure(let e) where e.message == "invalid UTF-8": throw HTTPFrontError(.utf8, "body: \(e)")
        case .failure(let e): throw HTTPFrontError(.badHeader, "body is not JSON: \(e)")
        }
    }
}
