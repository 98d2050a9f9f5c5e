import Testing

@testable import SpeedLayer

/// The buckets late records reached stay bounded: past twice the limit the earliest are dropped,
/// keeping the latest `lateBucketLimit` with their counts.
@Suite("Late buckets")
struct LateBucketTests {
    @Test func theLatestBucketsAreKeptWithTheirCounts() {
        let limit = SpeedLayer.lateBucketLimit
        var buckets: [Int64: Int64] = [:]
        for bucket in 0..<Int64(2 * limit) {
            SpeedLayer.noteLate(bucket: bucket * 60_000, in: &buckets)
            SpeedLayer.noteLate(bucket: bucket * 60_000, in: &buckets)
        }
        #expect(buckets.count == 2 * limit, "nothing is dropped up to twice the limit")
        SpeedLayer.noteLate(bucket: Int64(2 * limit) * 60_000, in: &buckets)
        #expect(buckets.count == limit)
        #expect(buckets.keys.min() == Int64(limit + 1) * 60_000 && buckets.keys.max() == Int64(2 * limit) * 60_000)
        #expect(buckets[Int64(limit + 1) * 60_000] == 2 && buckets[Int64(2 * limit) * 60_000] == 1)
    }
}
