import AsyncHTTPClient
import Foundation
import NIOCore
import StazConfig
import StazCore

/// A member's REST answer: status code and body text.
public struct RESTResponse: Sendable, Equatable {
    public var status: Int
    public var body: String
    public init(status: Int, body: String) { self.status = status; self.body = body }
}

/// The HTTP methods stazctl uses.
public enum RESTMethod: String, Sendable { case GET, POST, PATCH, PUT, DELETE }

/// A member could not be asked (no `api_url`, connection refused, timeout...).
public struct RESTUnreachable: Error, CustomStringConvertible {
    public var description: String
}

/// patronictl's `request_patroni`: one HTTP client for the whole command, basic auth on every
/// request when credentials are configured (patronictl sets it as a default header), JSON
/// bodies serialised like Python's `json.dumps`.
public final class PatroniREST: @unchecked Sendable {
    let client: HTTPClient
    let authorization: String?
    /// Long enough for a synchronous switchover (Patroni waits up to 2 × max(10, loop_wait) s).
    let requestTimeout: TimeAmount = .seconds(120)

    public init(configuration: StazConfiguration?) {
        var httpConfiguration = makeRESTClientConfiguration(configuration)
        httpConfiguration.timeout.connect = .seconds(5)
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
        authorization = restBasicAuth(configuration).map { credentials in
            "Basic " + Data("\(credentials.username):\(credentials.password)".utf8).base64EncodedString()
        }
    }

    public func request(_ member: Member, method: RESTMethod = .GET, endpoint: String? = nil,
                        body: JSONValue? = nil) async throws -> RESTResponse {
        guard let apiURL = member.apiURL, !apiURL.isEmpty else {
            throw RESTUnreachable(description: "member \(member.name) has no api_url")
        }
        var request = HTTPClientRequest(url: memberEndpointURL(apiURL: apiURL, endpoint: endpoint))
        request.method = .init(rawValue: method.rawValue)
        request.headers.add(name: "User-Agent", value: "Patroni/\(StazVersion.patroniCompatible) stazctl/\(StazVersion.staz)")
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body.pythonJSONString))
        }
        do {
            let response = try await client.execute(request, timeout: requestTimeout)
            let bytes = try await response.body.collect(upTo: 16 << 20)
            return RESTResponse(status: Int(response.status.code), body: String(buffer: bytes))
        } catch {
            throw RESTUnreachable(description: "Member \(member.name) is not accessible (\(request.url)): \(error)")
        }
    }

    public func shutdown() async {
        try? await client.shutdown()
    }
}
