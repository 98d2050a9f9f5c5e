/// Kafka's default partitioner for keyed messages, as the Java client computes it (and librdkafka's
/// `murmur2_random`): the positive part of the key's murmur2 hash, modulo the partition count.
///
/// Tandem uses it to know, before producing, which partition a keyed event goes to, so that
/// HTTP ingest and any other producer agree.
public enum KafkaPartitioner {
    /// The partition of `key` among `partitions` partitions.
    public static func partition(of key: some Collection<UInt8>, partitions: Int) -> Int {
        Int(murmur2(key) & 0x7fff_ffff) % partitions
    }

    /// Kafka's murmur2 (seed `0x9747b28c`), as `org.apache.kafka.common.utils.Utils.murmur2`.
    public static func murmur2(_ key: some Collection<UInt8>) -> UInt32 {
        let bytes = Array(key)
        let m: UInt32 = 0x5bd1_e995
        let r: UInt32 = 24
        var h: UInt32 = 0x9747_b28c ^ UInt32(truncatingIfNeeded: bytes.count)
        let whole = bytes.count / 4
        for index in 0..<whole {
            let at = index * 4
            var k = UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
            k &*= m
            k ^= k >> r
            k &*= m
            h &*= m
            h ^= k
        }
        let tail = whole * 4
        switch bytes.count % 4 {
        case 3:
            h ^= UInt32(bytes[tail + 2]) << 16
            h ^= UInt32(bytes[tail + 1]) << 8
            h ^= UInt32(bytes[tail])
            h &*= m
        case 2:
            h ^= UInt32(bytes[tail + 1]) << 8
            h ^= UInt32(bytes[tail])
            h &*= m
        case 1:
            h ^= UInt32(bytes[tail])
            h &*= m
        default:
            break
        }
        h ^= h >> 13
        h &*= m
        h ^= h >> 15
        return h
    }
}
