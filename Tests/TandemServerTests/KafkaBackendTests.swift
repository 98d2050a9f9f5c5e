import Events
import Foundation
import HTTPTypes
import HummingbirdTesting
import Ingest
import Kafka
import KafkaLog
import Logging
import NIOCore
import TandemAPI
import TandemServer
import TandemTestSupport
import Testing

/// The real application on `log.backend: kafka`, with a real Kafka-protocol broker and a real
/// PostgreSQL: events posted over HTTP and events that another client produced straight to the
/// topic are answered together, exactly, before and after a recompute.
@Suite(.timeLimit(.minutes(4))) struct KafkaBackendTests {
    static let view = #"""
        {"name":"kviews","stream":"pageviews","dimensions":["url"],"bucket":"1m",
         "aggregates":{"views":{"fn":"count"},"n_sum":{"fn":"sum","field":"n"}}}
        """#
    static let query = #"""
        {"view":"kviews","from":"2025-11-19T00:00:00Z","to":"2025-11-21T00:00:00Z","granularity":"all","group_by":["url"]}
        """#

    func post(_ client: some TestClientProtocol, _ uri: String, _ body: String) async throws -> TestResponse {
        try await client.execute(uri: uri, method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: body))
    }

    /// Views and sum of `n` per url.
    static func expected(_ events: [TestEvent]) -> [String: [Int64]] {
        events.reduce(into: [:]) { rows, event in
            let row = rows[event.url] ?? [0, 0]
            rows[event.url] = [row[0] + 1, row[1] + event.n]
        }
    }

    func answer(_ client: some TestClientProtocol) async throws -> (rows: [String: [Int64]], provenance: QueryResponse.Provenance) {
        let response = try await post(client, "/v1/query", Self.query)
        #expect(response.status == .ok, "\(String(buffer: response.body))")
        let answer = try decode(QueryResponse.self, response)
        var rows: [String: [Int64]] = [:]
        for row in answer.rows {
            rows[try #require(row["url"]?.string)] = [try #require(row["views"]?.int), try #require(row["n_sum"]?.int)]
        }
        return (rows, answer.provenance)
    }

    @Test func eventsFromHTTPAndFromAnotherProducerAreAnsweredExactlyBeforeAndAfterARecompute() async throws {
        let kafka = try TestKafka.current()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try TestDatabase.create()
        let prefix = TestKafka.uniqueTopic("e2e") + "."
        let posted = TestEvent.random(count: 300, seed: 14)
        let produced = TestEvent.random(count: 80, seed: 41)
        let lines = directory.path + "/produced.ndjson"
        try produced.map(\.json).joined(separator: "\n").write(toFile: lines, atomically: true, encoding: .utf8)
        try await withApp(
            directory: directory, database: database,
            configure: { configuration in
                configuration.ingest.eventTimeBounds.maxFutureMilliseconds = nil
                configuration.logBackend = .kafka(
                    KafkaLog.Configuration(
                        client: KafkaConfiguration(bootstrapServers: kafka.bootstrapServers, replicationFactor: 1), topicPrefix: prefix))
            }
        ) { client in
            #expect(try await post(client, "/v1/views", Self.view).status == .created)
            let response = try await client.post(posted.map(\.json).joined(separator: "\n"), contentType: "application/x-ndjson")
            #expect(response.status == .ok, "\(String(buffer: response.body))")
            #expect(try decode(IngestResponse.self, response).accepted == posted.count)
            // Another producer writes straight to the topic: keyed events (Java's partitioner, as
            // Tandem uses), events without a key, and three messages that are not valid events.
            _ = try kafka.runPython(
                """
                import os, json
                from confluent_kafka import Producer
                p = Producer({'bootstrap.servers': os.environ['KAFKA'], 'partitioner': 'murmur2_random', 'enable.idempotence': True})
                topic = '\(prefix)pageviews'
                for line in open('\(lines)'):
                    event = json.loads(line)
                    key = event.get('user_id')
                    p.produce(topic, key=key.encode() if key else None, value=line.strip().encode())
                for bad in [b'{"url":"/p/1"}', b'garbage', b'[1,2]']:
                    p.produce(topic, partition=0, value=bad)
                p.flush(30)
                """)
            let all = posted + produced
            var speedOnly: [String: [Int64]] = [:]
            for _ in 0..<400 {
                speedOnly = try await answer(client).rows
                if speedOnly.values.reduce(0, { $0 + $1[0] }) >= Int64(all.count) { break }
                try await Task.sleep(for: .milliseconds(25))
            }
            #expect(speedOnly == Self.expected(all), "from the speed layer alone")

            // The view's first job (trigger new_view) may still run: submit once it has ended.
            var submitted = try await post(client, "/v1/jobs", #"{"view":"kviews","mode":"full"}"#)
            for _ in 0..<1000 where submitted.status == .conflict {
                try await Task.sleep(for: .milliseconds(10))
                submitted = try await post(client, "/v1/jobs", #"{"view":"kviews","mode":"full"}"#)
            }
            #expect(submitted.status == .accepted, "\(String(buffer: submitted.body))")
            let id = try decode(JobResponse.self, submitted).id
            var job = try await client.get(JobResponse.self, "/v1/jobs/\(id)")
            for _ in 0..<2000 where job.state != "succeeded" && job.state != "failed" {
                try await Task.sleep(for: .milliseconds(10))
                job = try await client.get(JobResponse.self, "/v1/jobs/\(id)")
            }
            #expect(job.state == "succeeded", "\(job)")
            let merged = try await answer(client)
            #expect(merged.provenance.source == "batch+speed")
            #expect(merged.rows == Self.expected(all), "merged with the published version")

            // The status counts the messages that are not events; the records route reads Kafka.
            let status = try await client.get(StatusResponse.self, "/v1/status")
            #expect(status.streams.first { $0.name == "pageviews" }?.invalidMessages == 3)
            var stored = 0
            for partition in 0..<4 {
                let records = try await client.execute(uri: "/v1/streams/pageviews/records?partition=\(partition)&limit=10000", method: .get)
                #expect(records.status == .ok)
                stored += String(buffer: records.body).split(separator: "\n").count
            }
            #expect(stored == all.count)
        }
    }

    @Test func aStreamWhoseTopicHasAnotherPartitionCountIsRefusedWithTopicConflict() async throws {
        let kafka = try TestKafka.current()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let prefix = TestKafka.uniqueTopic("conflict") + "."
        let admin = try KafkaAdmin(
            configuration: KafkaConfiguration(bootstrapServers: kafka.bootstrapServers, replicationFactor: 1), logger: Logger(label: "admin"))
        try await admin.ensureTopic(prefix + "orders", partitions: 5)
        try await withApp(
            directory: directory,
            configure: { configuration in
                configuration.logBackend = .kafka(
                    KafkaLog.Configuration(
                        client: KafkaConfiguration(bootstrapServers: kafka.bootstrapServers, replicationFactor: 1), topicPrefix: prefix))
            }
        ) { client in
            let stream = #"{"name":"orders","partitions":2,"time_field":"ts","fields":{"ts":{"type":"timestamp","required":true}}}"#
            let refused = try await post(client, "/v1/streams", stream)
            #expect(refused.status == .conflict, "\(String(buffer: refused.body))")
            #expect(try errorBody(refused).code == "topic_conflict")
            #expect(try errorBody(refused).message.contains("5 partitions"))
            // Nothing was defined; with the topic's own count it is.
            #expect(try await client.execute(uri: "/v1/streams/orders", method: .get).status == .notFound)
            let matching = stream.replacingOccurrences(of: #""partitions":2"#, with: #""partitions":5"#)
            #expect(try await post(client, "/v1/streams", matching).status == .created)
            let posted = try await client.post(#"{"ts":"2026-11-20T10:00:00Z"}"#, stream: "orders")
            #expect(posted.status == .ok, "\(String(buffer: posted.body))")
        }
    }

    @Test func whenTheBrokersStopAnsweringIngestIs503AndTheServerIsNotReady() async throws {
        let broker = try TestKafka.current().startPrivateBroker()
        defer { broker.kill() }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withApp(
            directory: directory,
            configure: { configuration in
                configuration.logBackend = .kafka(
                    KafkaLog.Configuration(
                        client: KafkaConfiguration(
                            bootstrapServers: broker.bootstrapServers, properties: ["message.timeout.ms": "2000"], replicationFactor: 1,
                            requestTimeoutMilliseconds: 1_000),
                        offsetRefreshMilliseconds: 200))
            }
        ) { client in
            let event = #"{"ts":"2026-11-20T10:00:00Z","url":"/a","user_id":"u1"}"#
            #expect(try await client.post(event).status == .ok)
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(try decode(HealthResponse.self, ready).log == "ok")

            broker.kill()
            // librdkafka gives up on the message after message.timeout.ms (with its default of
            // 5 minutes, the suite's time limit would end the test).
            let refused = try await client.post(event)
            #expect(refused.status == .serviceUnavailable)
            #expect(try errorBody(refused).code == "log_unavailable")
            #expect(refused.headers[.retryAfter] != nil)

            var health = try decode(HealthResponse.self, try await client.execute(uri: "/readyz", method: .get))
            for _ in 0..<200 where health.log == "ok" {
                try await Task.sleep(for: .milliseconds(50))
                health = try decode(HealthResponse.self, try await client.execute(uri: "/readyz", method: .get))
            }
            #expect(health.ready == false)
            #expect(health.log?.contains("does not answer") == true, "\(String(describing: health.log))")
            // Liveness stays: an outage of the cluster is not a reason to restart Tandem.
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
        }
    }

    @Test func idFieldDeduplicationHoldsOnKafkaAcrossARestart() async throws {
        let kafka = try TestKafka.current()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let prefix = TestKafka.uniqueTopic("dedup") + "."
        let configure: (inout TandemConfiguration) -> Void = { configuration in
            configuration.streams = [IdempotentIngestTests.orders]
            configuration.logBackend = .kafka(
                KafkaLog.Configuration(
                    client: KafkaConfiguration(bootstrapServers: kafka.bootstrapServers, replicationFactor: 1), topicPrefix: prefix))
        }
        let ids = (0..<40).map { "o-\($0)" }
        try await withApp(directory: directory, configure: configure) { client in
            let first = try await IdempotentIngestTests.ingest(client, IdempotentIngestTests.ndjson(ids))
            #expect(first.accepted == 40 && first.duplicates == 0)
            let retry = try await IdempotentIngestTests.ingest(client, IdempotentIngestTests.ndjson(ids))
            #expect(retry.accepted == 0 && retry.duplicates == 40)
        }
        // After a restart the index is filled from the topic: still no id twice.
        try await withApp(directory: directory, configure: configure) { client in
            let again = try await IdempotentIngestTests.ingest(client, IdempotentIngestTests.ndjson(ids + ["o-new"]))
            #expect(again.accepted == 1 && again.duplicates == 40)
            var stored = 0
            for partition in 0..<4 {
                let records = try await client.execute(uri: "/v1/streams/orders/records?partition=\(partition)&limit=10000", method: .get)
                stored += String(buffer: records.body).split(separator: "\n").count
            }
            #expect(stored == 41)
        }
    }
}
