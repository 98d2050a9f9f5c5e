import Foundation
import Kafka
import NIOHTTP1
import TandemAPI
import TandemTestSupport
import Testing

/// Three real `tandem serve` processes on one Kafka-protocol broker and one PostgreSQL, as the
/// README's deployment section runs them. Events are posted, jobs queued and queries sent to
/// random servers; servers are SIGKILLed and started again at random, and the batch runner is
/// killed while a job runs. Every answer is compared with a brute-force recomputation of the
/// acknowledged events that the answering server's speed layer had consumed (its provenance).
///
/// CI runs a short version; `TANDEM_CLUSTER_ROUNDS=60 scripts/test.sh --filter ClusterTests` a
/// long one.
@Suite(.serialized, .timeLimit(.minutes(10))) struct ClusterTests {
    static func config(bootstrap: String, prefix: String, divided: Bool = false, extra: String = "") -> String {
        """
        \(extra)
        server: {host: 127.0.0.1, port: 0}
        ingest: {max_event_future: none}
        batch: {retry_delay: 50ms}
        log: {backend: kafka}
        kafka: {bootstrap_servers: "\(bootstrap)", topic_prefix: "\(prefix)", replication_factor: 1, divide_partitions: \(divided)}
        streams:
          - name: pageviews
            partitions: 4
            time_field: ts
            key_field: user_id
            fields:
              ts: {type: timestamp, required: true}
              url: {type: string, required: true}
              user_id: {type: string}
              latency_ms: {type: double}
              n: {type: int}
        """
    }

    /// One server of the cluster: its directory and, while it runs, its process.
    final class Node: @unchecked Sendable {
        // @unchecked: used by the one test task.
        let directory: TemporaryDirectory
        let database: String
        var server: ServerProcess?
        var runs = 0

        init(directory: TemporaryDirectory, database: String) {
            self.directory = directory
            self.database = database
        }

        var client: HTTPTestClient { HTTPTestClient(baseURL: server!.baseURL) }

        func start() async throws {
            runs += 1
            server = try await ServerProcess.start(in: directory, run: runs, database: database)
        }

        func kill() {
            server?.kill()
            server = nil
        }
    }

    /// `count` servers of one cluster (not started): each a directory with the same configuration,
    /// on a fresh topic prefix.
    static func nodes(
        _ count: Int, named name: String, kafka: TestKafka, database: TestDatabase, divided: Bool, extra: String = ""
    ) throws -> [Node] {
        let prefix = TestKafka.uniqueTopic(name) + "."
        return try (0..<count).map { index in
            let directory = try TemporaryDirectory(prefix: "tandem-\(name)-\(index)")
            try config(bootstrap: kafka.bootstrapServers, prefix: prefix, divided: divided, extra: extra).write(
                toFile: directory.path + "/tandem.yaml", atomically: true, encoding: .utf8)
            return Node(directory: directory, database: database.url)
        }
    }

    /// Kills the servers; their directories (with their logs) stay for a failed run.
    static func stop(_ nodes: [Node], keepingLogs keep: Bool) {
        for node in nodes {
            node.kill()
            if keep { print("cluster test: server logs kept in \(node.directory.path)") } else { node.directory.remove() }
        }
    }

    /// Starts servers that divide partitions, defines the oracle's view on the first, and waits
    /// until every server owns some of the 4 partitions.
    static func startDivided(_ nodes: [Node], database: TestDatabase) async throws {
        for node in nodes { try await node.start() }
        let (created, createdBody) = try await nodes[0].client.send(.POST, "/v1/views", body: ExactnessTests.view)
        #expect(created == 201, "\(createdBody)")
        var owners = ""
        for _ in 0..<600 where owners != "\(nodes.count)/4" {
            try await Task.sleep(for: .milliseconds(50))
            owners = try database.scalar("SELECT count(DISTINCT instance) || '/' || count(*) FROM tandem_partition_owners")
        }
        #expect(owners == "\(nodes.count)/4", "the servers did not divide the partitions")
    }

    /// The pid of the batch runner, as the servers' status lists them.
    static func runnerPID(_ client: HTTPTestClient) async throws -> Int? {
        let (status, body) = try await client.send(.GET, "/v1/status")
        guard status == 200 else { return nil }
        let answer = try JSONDecoder().decode(StatusResponse.self, from: Data(body.utf8))
        return answer.instances?.first { $0.runner && $0.heartbeatAgeSeconds < 10 }?.pid
    }

    /// With `divided`, the servers divide the partitions (`kafka.divide_partitions`): each
    /// computes its own and asks the others for theirs, kills move partitions, and a cut is
    /// assembled from every owner's report.
    @Test(arguments: [false, true]) func threeServersAnswerExactlyThroughKillsRestartsAndRunnerFailover(divided: Bool) async throws {
        let rounds = ProcessInfo.processInfo.environment["TANDEM_CLUSTER_ROUNDS"].flatMap { Int($0) } ?? 16
        let kafka = try TestKafka.current()
        let database = try TestDatabase.create()
        let nodes = try Self.nodes(3, named: "cluster", kafka: kafka, database: database, divided: divided)
        // The servers' logs stay unless the run gets to its end without a failure.
        var keep = true
        defer { Self.stop(nodes, keepingLogs: keep) }
        for node in nodes { try await node.start() }
        // Each registered with the address it is reached at (the port it bound, not 0).
        var addresses: Set<String> = []
        for _ in 0..<100 {
            let (_, text) = try await nodes[0].client.send(.GET, "/v1/status")
            addresses = Set(try JSONDecoder().decode(StatusResponse.self, from: Data(text.utf8)).instances?.map(\.address) ?? [])
            if addresses == Set(nodes.map { $0.server!.baseURL }) { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(addresses == Set(nodes.map { $0.server!.baseURL }))

        // A view defined on one server reaches the others.
        let (created, createdBody) = try await nodes[0].client.send(.POST, "/v1/views", body: ExactnessTests.view)
        #expect(created == 201, "\(createdBody)")
        for node in nodes[1...] {
            var status = 0
            for _ in 0..<200 where status != 200 {
                status = try await node.client.send(.GET, "/v1/views/exact").status
                if status != 200 { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(status == 200, "the view defined on another server never reached this one")
        }

        var random = SplitMix64(seed: ProcessInfo.processInfo.environment["TANDEM_CLUSTER_SEED"].flatMap { UInt64($0) } ?? 1129)
        var placed: [ExactnessTests.Placed] = []
        var queries = 0, mismatches = 0, batchAnswers = 0, jobs = 0, kills = 0, runnerKills = 0
        for round in 1...rounds {
            let live = nodes.filter { $0.server != nil }
            // Post a few requests of random events to random servers.
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let node = live.randomElement(using: &random)!
                var events = TestEvent.random(count: Int.random(in: 1...200, using: &random), seed: random.next())
                for index in events.indices where events[index].user == nil { events[index].user = "u\(index % 17)" }
                let (status, body) = try await node.client.send(
                    .POST, "/v1/streams/pageviews/events", body: events.map(\.json).joined(separator: "\n"), contentType: "application/x-ndjson")
                #expect(status == 200, "\(body)")
                guard status == 200 else { continue }
                let partitions = try JSONDecoder().decode(IngestResponse.self, from: Data(body.utf8)).partitions.values
                var next = partitions.mapValues { Int($0.first) }
                for event in events {
                    let partition = KafkaPartitioner.partition(of: Array(event.user!.utf8), partitions: 4)
                    placed.append(ExactnessTests.Placed(event: event, partition: partition, offset: next[partition]!))
                    next[partition]! += 1
                }
            }
            // Maybe queue a job, on any server: the runner runs it.
            if Bool.random(using: &random) {
                let mode = Bool.random(using: &random) ? "full" : "incremental"
                let (status, body) = try await live.randomElement(using: &random)!.client.send(
                    .POST, "/v1/jobs", body: #"{"view":"exact","mode":"\#(mode)"}"#)
                #expect(status == 202 || status == 409, "\(body)")
                if status == 202 { jobs += 1 }
            }
            // Query random servers, over random ranges and granularities.
            for _ in 0..<Int.random(in: 2...5, using: &random) {
                let node = live.randomElement(using: &random)!
                let (request, from, to, granularity, urls) = ExactnessTests.randomQuery(using: &random)
                let (status, body) = try await node.client.send(.POST, "/v1/query", body: request)
                #expect(status == 200, "\(body)")
                guard status == 200 else { continue }
                let answer = try JSONDecoder().decode(QueryResponse.self, from: Data(body.utf8))
                queries += 1
                if answer.provenance.source == "batch+speed" { batchAnswers += 1 }
                let check = try ExactnessTests.check(answer, placed: placed, from: from, to: to, granularity: granularity, urls: urls)
                if let problem = check {
                    mismatches += 1
                    // A second opinion: the same question to every live server, this one again last.
                    var opinions: [String] = []
                    for other in live.filter({ $0 !== node }) + [node] {
                        let (_, text) = try await other.client.send(.POST, "/v1/query", body: request)
                        guard let again = try? JSONDecoder().decode(QueryResponse.self, from: Data(text.utf8)) else { continue }
                        let verdict = try ExactnessTests.check(again, placed: placed, from: from, to: to, granularity: granularity, urls: urls)
                        opinions.append(
                            "server \(nodes.firstIndex { $0 === other }!) on version \(again.provenance.batchVersion.map(String.init) ?? "none"): \(verdict == nil ? "exact" : "wrong")"
                        )
                    }
                    Issue.record(
                        "mismatch in round \(round) on server \(nodes.firstIndex { $0 === node }!) run \(node.runs) for \(request): \(problem); provenance \(answer.provenance); asked again: \(opinions.joined(separator: ", "))"
                    )
                }
            }
            // Every few rounds a server dies; every other time it is the runner, while a job runs.
            if round % 3 == 0 {
                let victim: Node
                if kills % 2 == 0, let pid = try await Self.runnerPID(live[0].client),
                    let runner = live.first(where: { $0.server?.processIdentifier == Int32(pid) })
                {
                    let (status, _) = try await runner.client.send(.POST, "/v1/jobs", body: #"{"view":"exact","mode":"full"}"#)
                    if status == 202 { jobs += 1 }
                    try await Task.sleep(for: .milliseconds(Int.random(in: 0...150, using: &random)))
                    victim = runner
                    runnerKills += 1
                } else {
                    victim = live.randomElement(using: &random)!
                }
                victim.kill()
                kills += 1
                // Sometimes it comes back at once, sometimes after a round without it.
                if Bool.random(using: &random) { try await victim.start() }
            } else {
                for node in nodes where node.server == nil { try await node.start() }
            }
        }
        for node in nodes where node.server == nil { try await node.start() }

        // The cluster still runs jobs after its runners died: a last full job, queued on one
        // server, succeeds; then every server answers from that version, exactly.
        let (status, body) = try await nodes[2].client.send(.POST, "/v1/jobs", body: #"{"view":"exact","mode":"full"}"#)
        var jobID: String?
        if status == 202 {
            jobID = try JSONDecoder().decode(JobResponse.self, from: Data(body.utf8)).id
        } else {
            // One was queued or running already: wait for it, then queue the last one.
            #expect(status == 409, "\(body)")
            for _ in 0..<600 where jobID == nil {
                try await Task.sleep(for: .milliseconds(100))
                let (again, text) = try await nodes[2].client.send(.POST, "/v1/jobs", body: #"{"view":"exact","mode":"full"}"#)
                if again == 202 { jobID = try JSONDecoder().decode(JobResponse.self, from: Data(text.utf8)).id }
            }
        }
        let id = try #require(jobID)
        var state = ""
        for _ in 0..<1200 where state != "succeeded" && state != "failed" {
            try await Task.sleep(for: .milliseconds(100))
            let (_, text) = try await nodes[0].client.send(.GET, "/v1/jobs/\(id)")
            state = (try? JSONDecoder().decode(JobResponse.self, from: Data(text.utf8)).state) ?? ""
        }
        #expect(state == "succeeded")
        let version = try #require(Int64(try database.scalar("SELECT version_id FROM tandem_publications WHERE view = 'exact'")))
        let request = #"{"view":"exact","from":"1763589600000","to":"1763625600000","granularity":"all","group_by":["url"]}"#
        for node in nodes {
            var answer: QueryResponse?
            for _ in 0..<600 {
                let (_, text) = try await node.client.send(.POST, "/v1/query", body: request)
                answer = try JSONDecoder().decode(QueryResponse.self, from: Data(text.utf8))
                if answer?.provenance.batchVersion == version && answer?.provenance.lagRecords == 0 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            let last = try #require(answer)
            #expect(last.provenance.batchVersion == version, "a server never served the last version")
            #expect((0..<4).reduce(0) { $0 + (last.provenance.speedOffsets[$1] ?? 0) } == Int64(placed.count), "a server never caught up")
            let problem = try ExactnessTests.check(last, placed: placed, from: 1_763_589_600_000, to: 1_763_625_600_000, granularity: nil, urls: nil)
            #expect(problem == nil, "server \(nodes.firstIndex { $0 === node }!): \(problem ?? "")")
            if divided {
                // Each server computed some partitions and asked the others for the rest.
                let sources = last.provenance.speedSources?.values ?? [:]
                #expect(sources.count == 4 && sources.values.contains("local") && sources.values.contains { $0 != "local" }, "\(sources)")
            } else {
                #expect(last.provenance.speedSources == nil)
            }
        }
        // The internal endpoint: only with the cluster key, and only when partitions are divided.
        let key = try database.scalar("SELECT key FROM tandem_cluster_key")
        let path = "/internal/v1/views/exact/partitions?partitions=0,1,2,3&cut=0,0,0,0"
        #expect(try await nodes[0].client.send(.GET, path).status == (divided ? 401 : 404))
        #expect(try await nodes[0].client.send(.GET, path, headers: [("Tandem-Cluster-Key", String(key.reversed()))]).status == (divided ? 401 : 404))
        #expect(try await nodes[0].client.send(.GET, path, headers: [("Tandem-Cluster-Key", key)]).status == (divided ? 200 : 404))
        if divided {
            let owners = try database.scalar("SELECT count(DISTINCT instance) || '/' || count(*) FROM tandem_partition_owners")
            #expect(owners == "3/4", "three servers divide the four partitions: \(owners)")
        }
        #expect(mismatches == 0)
        keep = mismatches > 0
        #expect(runnerKills > 0 && jobs > 0 && queries > 0)
        #expect(batchAnswers > 0, "no answer used a published batch version: the test proved nothing about merging")
        print(
            "cluster exactness\(divided ? " (divided partitions)" : ""): 3 servers, \(rounds) rounds, \(kills) kills (\(runnerKills) of the runner), \(placed.count) events, \(jobs) jobs, \(queries) queries (\(batchAnswers) batch+speed), \(mismatches) mismatches"
        )
    }

    /// Partitions divided between two servers, one of which dies: until the group gives its
    /// partitions to the other, a query that needs them fails with 503 `partition_unavailable`
    /// after `query.timeout`, or, with `allow_partial`, answers without them, marked incomplete
    /// and naming them, and exact for everything else.
    @Test func aDeadOwnersPartitionsAreLeftOutOnlyOfAnAnswerThatAllowsIt() async throws {
        let kafka = try TestKafka.current()
        let database = try TestDatabase.create()
        let nodes = try Self.nodes(2, named: "partial", kafka: kafka, database: database, divided: true, extra: "query: {timeout: 2s}")
        var keep = true
        defer { Self.stop(nodes, keepingLogs: keep) }
        try await Self.startDivided(nodes, database: database)
        for _ in 0..<200 where try await nodes[1].client.send(.GET, "/v1/views/exact").status != 200 {
            try await Task.sleep(for: .milliseconds(50))
        }
        var events = TestEvent.random(count: 400, seed: 77)
        for index in events.indices { events[index].user = "u\(index % 23)" }
        let (posted, postedBody) = try await nodes[0].client.send(
            .POST, "/v1/streams/pageviews/events", body: events.map(\.json).joined(separator: "\n"), contentType: "application/x-ndjson")
        #expect(posted == 200, "\(postedBody)")
        let firsts = try JSONDecoder().decode(IngestResponse.self, from: Data(postedBody.utf8)).partitions.values
        var next = firsts.mapValues { Int($0.first) }
        var placed: [ExactnessTests.Placed] = []
        for event in events {
            let partition = KafkaPartitioner.partition(of: Array(event.user!.utf8), partitions: 4)
            placed.append(ExactnessTests.Placed(event: event, partition: partition, offset: next[partition]!))
            next[partition]! += 1
        }
        let from: Int64 = 1_763_589_600_000, to: Int64 = 1_763_625_600_000
        let request = #"{"view":"exact","from":"\#(from)","to":"\#(to)","granularity":"all","group_by":["url"]"#
        // Every partition counted, half of them by the other server.
        var whole: QueryResponse?
        for _ in 0..<600 {
            let (status, text) = try await nodes[0].client.send(.POST, "/v1/query", body: request + "}")
            if status == 200 {
                whole = try JSONDecoder().decode(QueryResponse.self, from: Data(text.utf8))
                if (0..<4).reduce(0, { $0 + (whole?.provenance.speedOffsets[$1] ?? 0) }) == Int64(placed.count) { break }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let complete = try #require(whole)
        #expect(try ExactnessTests.check(complete, placed: placed, from: from, to: to, granularity: nil, urls: nil) == nil)
        let remote = Set((complete.provenance.speedSources?.values ?? [:]).filter { $0.value != "local" }.keys)
        #expect(!remote.isEmpty && remote.count < 4, "\(String(describing: complete.provenance.speedSources))")

        nodes[1].kill()
        let (refused, refusal) = try await nodes[0].client.send(.POST, "/v1/query", body: request + "}")
        #expect(refused == 503 && refusal.contains("partition_unavailable"), "\(refusal)")
        let (status, text) = try await nodes[0].client.send(.POST, "/v1/query", body: request + #","allow_partial":true}"#)
        #expect(status == 200, "\(text)")
        let partial = try JSONDecoder().decode(QueryResponse.self, from: Data(text.utf8))
        #expect(partial.provenance.complete == false)
        #expect(Set(partial.provenance.missingPartitions?.values.keys ?? [:].keys) == remote, "\(text)")
        // Exact for what it says it counts: the missing partitions only up to their cut.
        #expect(try ExactnessTests.check(partial, placed: placed, from: from, to: to, granularity: nil, urls: nil) == nil)
        let counted = partial.rows.reduce(0) { $0 + Int($1["views"]?.int ?? 0) }
        #expect(counted < placed.count, "the dead server's partitions are left out")
        keep = false
    }

    /// A server that divides partitions and is stopped (SIGTERM) leaves the group and gives up its
    /// rows before it exits, and the other server takes every partition.
    @Test func aStoppedServerHandsItsPartitionsOverAtOnce() async throws {
        let kafka = try TestKafka.current()
        let database = try TestDatabase.create()
        let nodes = try Self.nodes(2, named: "handover", kafka: kafka, database: database, divided: true)
        var keep = true
        defer { Self.stop(nodes, keepingLogs: keep) }
        try await Self.startDivided(nodes, database: database)
        // The status lists what each server computes: every partition, once.
        let (_, statusText) = try await nodes[0].client.send(.GET, "/v1/status")
        let listed = try JSONDecoder().decode(StatusResponse.self, from: Data(statusText.utf8)).instances ?? []
        let computed = listed.flatMap { $0.partitions?["pageviews"] ?? [] }
        #expect(computed.sorted() == [0, 1, 2, 3] && listed.allSatisfy { $0.partitions != nil }, "\(listed)")
        let server = try #require(nodes[1].server)
        let instance = try String(contentsOfFile: nodes[1].directory.path + "/data/instance-id", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        server.signalTerminate()
        #expect(try await server.waitForExit(timeout: .seconds(20)), "the server did not stop")
        nodes[1].server = nil
        // It gave its rows up before exiting (a killed server's stay until another takes them).
        #expect(try database.scalar("SELECT count(*) FROM tandem_partition_owners WHERE instance = '\(instance)'") == "0")
        var owners = ""
        for _ in 0..<400 where owners != "1/4" {
            try await Task.sleep(for: .milliseconds(50))
            owners = try database.scalar("SELECT count(DISTINCT instance) || '/' || count(*) FROM tandem_partition_owners")
        }
        #expect(owners == "1/4", "the remaining server did not take every partition")
        keep = false
    }

    /// Servers with auth on, started at the same moment on an empty database: one makes the admin
    /// token and prints it; the token works on every server.
    @Test func serversStartingTogetherMakeOneAdminTokenThatWorksOnEach() async throws {
        let kafka = try TestKafka.current()
        let database = try TestDatabase.create()
        let prefix = TestKafka.uniqueTopic("tokens") + "."
        var directories: [TemporaryDirectory] = []
        var servers: [ServerProcess] = []
        defer {
            for server in servers { server.kill() }
            for directory in directories { directory.remove() }
        }
        for index in 0..<2 {
            let directory = try TemporaryDirectory(prefix: "tandem-cluster-auth-\(index)")
            directories.append(directory)
            try Self.config(bootstrap: kafka.bootstrapServers, prefix: prefix).write(
                toFile: directory.path + "/tandem.yaml", atomically: true, encoding: .utf8)
        }
        for directory in directories {
            servers.append(
                try ServerProcess(
                    arguments: [
                        "--config", directory.path + "/tandem.yaml", "--data-dir", directory.path + "/data", "--port", "0", "--postgres-url",
                        database.url,
                    ], outputPath: directory.path + "/server.log"))
        }
        for server in servers { try await server.waitUntilListening() }
        let printed = servers.compactMap { server in
            server.output.split(separator: "\n").first { $0.hasPrefix("tandem admin token") }.map { String($0.split(separator: " ").last!) }
        }
        #expect(printed.count == 1, "\(printed.count) servers printed an admin token")
        let token = try #require(printed.first)
        for server in servers {
            let client = HTTPTestClient(baseURL: server.baseURL)
            var status = 0
            for _ in 0..<100 where status != 200 {
                status = try await client.send(.GET, "/v1/status", headers: [("Authorization", "Bearer \(token)")]).status
                if status != 200 { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(status == 200, "the admin token does not work on \(server.baseURL)")
            #expect(try await client.send(.GET, "/v1/status").status == 401)
        }
    }
}
