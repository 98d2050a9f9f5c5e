import Testing

@testable import ServingLayer

@Suite("Top N")
struct TopNTests {
    @Test("the heap selection equals sorting everything and keeping the first N, ties by position")
    func matchesFullSort() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let count = Int.random(in: 0...300, using: &generator)
            let keys = (0..<count).map { _ in Int.random(in: 0...20, using: &generator) }
            let precedes: (Int, Int) -> Bool = { a, b in keys[a] != keys[b] ? keys[a] > keys[b] : a < b }
            let everything = (0..<count).sorted(by: precedes)
            for limit in [nil, 0, 1, 3, 10, count, count + 5] as [Int?] {
                #expect(TopN.select(count: count, limit: limit, by: precedes) == Array(everything.prefix(limit ?? count)))
            }
        }
    }
}
