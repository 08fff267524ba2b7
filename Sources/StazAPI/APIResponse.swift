import NIOCore
import NIOHTTP1

/// One HTTP reply. `body == nil` means "status line only" (Patroni's
/// `_write_status_code_only`, used for HEAD/OPTIONS, `/liveness`, `/readiness`).
public struct APIResponse: Sendable {
    public var status: HTTPResponseStatus
    public var contentType: String?
    public var body: ByteBuffer?
    public var extraHeaders: [(String, String)]

    public init(status: HTTPResponseStatus, contentType: String? = nil, body: ByteBuffer? = nil,
                extraHeaders: [(String, String)] = []) {
        self.status = status; self.contentType = contentType; self.body = body; self.extraHeaders = extraHeaders
    }

    public static func statusOnly(_ code: Int) -> APIResponse {
        APIResponse(status: HTTPResponseStatus(statusCode: code))
    }

    public static func json(_ code: Int, _ body: ByteBuffer) -> APIResponse {
        APIResponse(status: HTTPResponseStatus(statusCode: code), contentType: "application/json", body: body)
    }

    public static func json(_ code: Int, _ value: JSONValueConvertible) -> APIResponse {
        json(code, ByteBuffer(string: value.jsonText))
    }

    /// Plain messages (`reload scheduled`); Patroni sends them as text/html.
    public static func text(_ code: Int, _ message: String) -> APIResponse {
        APIResponse(status: HTTPResponseStatus(statusCode: code), contentType: "text/html",
                    body: ByteBuffer(string: message))
    }
}

/// Anything that can be sent as a Python-style JSON body.
public protocol JSONValueConvertible: Sendable { var jsonText: String { get } }
