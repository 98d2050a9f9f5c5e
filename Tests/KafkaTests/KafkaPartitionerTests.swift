import Kafka
import Testing

@Suite struct KafkaPartitionerTests {
    /// The Java client's own test vectors (`UtilsTest.testMurmur2` in Apache Kafka).
    @Test(arguments: [
        ("21", -973_932_308), ("foobar", -790_332_482), ("a-little-bit-long-string", -985_981_536),
        ("a-little-bit-longer-string", -1_486_304_829), ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971),
        ("abc", 479_470_107),
    ])
    func murmur2MatchesTheJavaClient(key: String, expected: Int32) {
        #expect(Int32(bitPattern: KafkaPartitioner.murmur2(Array(key.utf8))) == expected)
    }

    @Test func thePartitionIsThePositiveHashModuloTheCount() {
        let key = Array("foobar".utf8)
        let positive = Int(UInt32(bitPattern: -790_332_482) & 0x7fff_ffff)
        for partitions in [1, 2, 3, 7, 16, 100] {
            #expect(KafkaPartitioner.partition(of: key, partitions: partitions) == positive % partitions)
        }
    }
}
