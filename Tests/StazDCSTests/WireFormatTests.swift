import Foundation
import Logging
import StazConfig
import StazCore
import Testing
@testable import StazDCS

/// Pure encoding helpers and the client factory (no etcd needed).
@Suite("Wire formats")
struct WireFormatTests {
    static let stream = #"{"result":{"created":true}}"# + "\n" + #"{"result":{"events":[{"kv":{"key":"YQ==","value":"e30="}}],"x":"}{\"}"}}"# + "\n"

    @Test("stream splitter yields whole objects whatever the chunking", arguments: [1, 2, 7, 40, 1000])
    func splitterChunking(chunkSize: Int) throws {
        var splitter = JSONObjectStreamSplitter()
        var objects: [Data] = []
        let bytes = Array(Self.stream.utf8)
        var index = 0
        while index < bytes.count {
            objects += splitter.append(bytes[index..<min(bytes.count, index + chunkSize)])
            index += chunkSize
        }
        #expect(objects.count == 2)
        #expect(try JSONValue.parse(objects[0])["result"]?["created"] == .bool(true))
        #expect(try JSONValue.parse(objects[1])["result"]?["x"]?.stringValue == "}{\"}")
        #expect(splitter.pendingByteCount == 0)
    }

    @Test("stream splitter handles objects glued together without newline")
    func splitterGlued() {
        var splitter = JSONObjectStreamSplitter()
        let objects = splitter.append(Array(#"{"a":1}{"b":{"c":2}}{"d""#.utf8))
        #expect(objects.map { String(decoding: $0, as: UTF8.self) } == [#"{"a":1}"#, #"{"b":{"c":2}}"#])
        #expect(splitter.append(Array(#":3}"#.utf8)).map { String(decoding: $0, as: UTF8.self) } == [#"{"d":3}"#])
    }

    @Test("v3 range end of a prefix increments its last byte")
    func rangeEnd() {
        #expect(EtcdV3Wire.rangeEnd(forPrefix: "/service/batman/") == EtcdV3Wire.base64("/service/batman0"))
        #expect(EtcdV3Wire.decode(.string(EtcdV3Wire.base64("leader"))) == "leader")
        #expect(EtcdV3Wire.decode(nil) == "")
    }

    @Test("v3 key-value parsing keeps mod_revision and drops lease 0")
    func keyValueParsing() throws {
        let kv = try #require(EtcdV3Wire.keyValue(try JSONValue.parse(
            #"{"key":"L3MvbGVhZGVy","create_revision":"5","mod_revision":"9","version":"1","value":"bm9kZQ==","lease":"0"}"#)))
        #expect(kv == EtcdV3Wire.KeyValue(key: "/s/leader", value: "node", modRevision: 9, lease: nil))
    }

    @Test("v2 key paths and form values are percent-encoded")
    func v2Encoding() {
        #expect(EtcdV2Wire.keyPath("/service/batman/members/node a") == "/v2/keys/service/batman/members/node%20a")
        #expect(EtcdV2Wire.keyPath("/service/batman/") == "/v2/keys/service/batman")
        let body = String(decoding: EtcdV2Wire.formBody(value: #"{"a":"b&c=d"}"#, [("ttl", "30")]), as: UTF8.self)
        #expect(body == "value=%7B%22a%22%3A%22b%26c%3Dd%22%7D&ttl=30")
    }

    @Test("v2 recursive answers flatten into relative keys with modifiedIndex versions")
    func v2Flatten() throws {
        let node = try JSONValue.parse(#"""
        {"key":"/service/b","dir":true,"nodes":[{"key":"/service/b/leader","value":"n1","modifiedIndex":7},
         {"key":"/service/b/members","dir":true,"nodes":[{"key":"/service/b/members/n1","value":"{}","modifiedIndex":5}]}]}
        """#)
        let keys = EtcdV2Wire.relativeKeys(node, prefix: "/service/b/")
        #expect(keys["leader"] == DCSRawValue(value: "n1", version: "7"))
        #expect(keys["members/n1"] == DCSRawValue(value: "{}", version: "5"))
        #expect(keys.count == 2)
    }

    @Test("the factory picks v3 for etcd3, v2 for etcd, and the cluster prefix")
    func factory() async {
        var configuration = StazConfiguration(
            scope: "batman", name: "node-a",
            restapi: RestAPISection(listen: "127.0.0.1:8008", connectAddress: "127.0.0.1:8008"),
            postgresql: PostgreSQLSection(listen: "127.0.0.1:5432", connectAddress: "127.0.0.1:5432", dataDir: "/tmp/x",
                                          pgpass: "/tmp/pgpass", superuser: Credentials(username: "postgres"),
                                          replication: Credentials(username: "replicator")))
        configuration.etcd = EtcdSection(endpoints: ["127.0.0.1:2379/"])
        let v2 = makeDCSClient(configuration: configuration, memberName: "node-a", logger: Logger(label: "t"))
        #expect((v2 as? EtcdV2Client)?.prefix == "/service/batman/")
        configuration.etcd3 = EtcdSection(endpoints: ["http://127.0.0.1:2379"])
        let v3 = makeDCSClient(configuration: configuration, memberName: nil, logger: Logger(label: "t"))
        #expect((v3 as? EtcdV3Client)?.memberName == nil)
        #expect(normalizedEndpoints(EtcdSection(endpoints: ["127.0.0.1:2379/", " "])) == ["http://127.0.0.1:2379"])
        await v2.close()
        await v3.close()
    }
}
