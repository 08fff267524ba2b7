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

extension APIResponse {
    /// Python `BaseHTTPRequestHandler.send_error(code)`, which Patroni uses for 400/409/502/503
    /// on some unsafe endpoints: its default HTML error page.
    /// `message` replaces the status phrase in the page, as `send_error(code, message)` does.
    public static func httpError(_ code: Int, message: String? = nil) -> APIResponse {
        let status = HTTPResponseStatus(statusCode: code)
        let (phrase, long) = pythonReasons[code] ?? (status.reasonPhrase, status.reasonPhrase)
        let short = message ?? phrase
        let body = """
        <!DOCTYPE HTML>
        <html lang="en">
            <head>
                <meta charset="utf-8">
                <title>Error response</title>
            </head>
            <body>
                <h1>Error response</h1>
                <p>Error code: \(code)</p>
                <p>Message: \(short).</p>
                <p>Error code explanation: \(code) - \(long).</p>
            </body>
        </html>

        """
        return APIResponse(status: status, contentType: "text/html;charset=utf-8", body: ByteBuffer(string: body))
    }

    /// `http.HTTPStatus` phrase and description for the codes Patroni sends this way.
    static let pythonReasons: [Int: (String, String)] = [
        400: ("Bad Request", "Bad request syntax or unsupported method"),
        409: ("Conflict", "Request conflict"),
        411: ("Length Required", "Client must specify Content-Length"),
        413: ("Request Entity Too Large", "Entity is too large"),
        502: ("Bad Gateway", "Invalid responses from another server/proxy"),
        503: ("Service Unavailable", "The server cannot process the request due to a high load"),
    ]
}
