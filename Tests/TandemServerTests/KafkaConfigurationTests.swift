import BatchLayer
import Foundation
import Kafka
import KafkaLog
import TandemServer
import Testing

/// `log.backend: kafka` and the `kafka` section: read whole, refused naming the key.
@Suite struct KafkaConfigurationTests {
    @Test func theEmbeddedLogIsTheDefault() throws {
        #expect(try TandemConfiguration.parse(yaml: "{}").logBackend == .embedded)
        #expect(try TandemConfiguration.parse(yaml: "log: {backend: embedded}").logBackend == .embedded)
    }

    @Test func everyKafkaKeyIsRead() throws {
        let configuration = try TandemConfiguration.parse(
            yaml: """
                log: {backend: kafka}
                kafka:
                  bootstrap_servers: "k1:9092,k2:9092"
                  topic_prefix: prod.tandem-
                  replication_factor: 3
                  dead_letter_topics: true
                  request_timeout: 2s
                  properties: {security.protocol: SASL_SSL, message.timeout.ms: 30000, enable.ssl.certificate.verification: true}
                """)
        let expected = KafkaLog.Configuration(
            client: KafkaConfiguration(
                bootstrapServers: "k1:9092,k2:9092",
                properties: ["security.protocol": "SASL_SSL", "message.timeout.ms": "30000", "enable.ssl.certificate.verification": "true"],
                replicationFactor: 3, requestTimeoutMilliseconds: 2_000),
            topicPrefix: "prod.tandem-", deadLetterTopics: true)
        #expect(configuration.logBackend == .kafka(expected))
    }

    @Test(arguments: [
        ("log: {backend: kafka}", "kafka.bootstrap_servers"),
        ("log: {backend: kafka}\nkafka: {bootstrap_servers: \"\"}", "kafka.bootstrap_servers"),
        ("kafka: {bootstrap_servers: \"k:9092\"}", "log.backend: kafka"),
        ("log: {backend: pulsar}", "log.backend must be embedded or kafka"),
        ("log: {backend: kafka}\nkafka: {bootstrap_servers: \"k:9092\", topic_prefix: \"a b\"}", "kafka.topic_prefix"),
        ("log: {backend: kafka}\nkafka: {bootstrap_servers: \"k:9092\", replication_factor: 0}", "kafka.replication_factor"),
        ("log: {backend: kafka}\nkafka: {bootstrap_servers: \"k:9092\", replication_factor: 5000000000}", "kafka.replication_factor"),
        ("log: {backend: kafka}\nkafka: {bootstrap_servers: \"k:9092\", request_timeout: 10ms}", "kafka.request_timeout"),
        ("server: {advertise: \"tandem-1:8080\"}", "server.advertise"),
        ("server: {advertise: \"http://tandem-1:8080/api\"}", "server.advertise"),
        ("batch: {retired_grace: soon}", "batch.retired_grace"),
    ])
    func badSettingsAreRefusedNamingTheKey(yaml: String, named: String) {
        let error = #expect(throws: TandemConfiguration.Error.self) { try TandemConfiguration.parse(yaml: yaml) }
        #expect(error?.description.contains(named) == true, "\(String(describing: error))")
    }

    @Test func theDeployedKafkaExampleParses() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../deploy/tandem-kafka.yaml").path
        let configuration = try TandemConfiguration.load(path: path)
        guard case .kafka(let settings) = configuration.logBackend else {
            Issue.record("deploy/tandem-kafka.yaml does not select the Kafka backend")
            return
        }
        #expect(settings.topicPrefix == "tandem.")
        #expect(settings.deadLetterTopics)
        #expect(configuration.streams.map(\.name) == ["pageviews"])
    }

    /// What several servers sharing a database set: where each is reached, and how long replaced
    /// version tables stay for the others; every deployed example of the cluster parses.
    @Test func clusterSettingsAndExamplesAreRead() throws {
        let configuration = try TandemConfiguration.parse(
            yaml: "server: {advertise: \"https://tandem-1.internal:8443/\"}\nbatch: {retired_grace: 2m}")
        #expect(configuration.advertise == "https://tandem-1.internal:8443")
        #expect(configuration.batch.retiredGrace == .seconds(120))
        for file in ["tandem-cluster.yaml", "tandem-compose.yaml"] {
            let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../deploy/\(file)").path
            let loaded = try TandemConfiguration.load(path: path)
            guard case .kafka = loaded.logBackend else {
                Issue.record("deploy/\(file) does not select the Kafka backend")
                continue
            }
            #expect(loaded.views.map(\.name) == ["url_hourly"], "deploy/\(file)")
            if case .kafka(let settings) = loaded.logBackend {
                #expect(settings.dividePartitions, "deploy/\(file): the cluster examples divide the partitions")
            }
        }
        // A server on Kafka alone computes every partition unless told to divide them.
        let alone = try TandemConfiguration.parse(yaml: "log: {backend: kafka}\nkafka: {bootstrap_servers: \"k:9092\"}")
        let divided = try TandemConfiguration.parse(yaml: "log: {backend: kafka}\nkafka: {bootstrap_servers: \"k:9092\", divide_partitions: true}")
        guard case .kafka(let aloneSettings) = alone.logBackend, case .kafka(let dividedSettings) = divided.logBackend else {
            Issue.record("not the Kafka backend")
            return
        }
        #expect(!aloneSettings.dividePartitions)
        #expect(dividedSettings.dividePartitions)
    }
}
