import Aggregation
import Events
import TandemTestSupport
import Testing

/// `AggregateState` must be a commutative monoid whatever the split of the events: the speed
/// layer, the batch layer and the serving layer each merge partial states in their own order.
@Suite("AggregateState monoid laws")
struct AggregateStateMonoidTests {
    static let rounds = 40

    /// Asserts two states are the same: value for value where the kind is exact, else by answer.
    static func expectSame(
        _ kind: AggregateKind, _ a: AggregateState, _ b: AggregateState, _ what: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(kind.result(a) == kind.result(b), "\(kind) \(what): \(kind.result(a)) vs \(kind.result(b))", sourceLocation: sourceLocation)
        if kind.statesCompareExactly {
            #expect(a == b, "\(kind) \(what): states differ", sourceLocation: sourceLocation)
        }
    }

    @Test("merge is associative", arguments: AggregateKind.allCases)
    func associative(kind: AggregateKind) {
        var random = SplitMix64(seed: 0xA550C)
        for _ in 0..<Self.rounds {
            let a = kind.fold(kind.values(&random)), b = kind.fold(kind.values(&random)), c = kind.fold(kind.values(&random))
            Self.expectSame(kind, merged(merged(a, b), c), merged(a, merged(b, c)), "(a+b)+c vs a+(b+c)")
        }
    }

    @Test("merge is commutative", arguments: AggregateKind.allCases)
    func commutative(kind: AggregateKind) {
        var random = SplitMix64(seed: 0xC0FFEE)
        for _ in 0..<Self.rounds {
            let a = kind.fold(kind.values(&random)), b = kind.fold(kind.values(&random))
            Self.expectSame(kind, merged(a, b), merged(b, a), "a+b vs b+a")
        }
    }

    @Test("the empty state is an identity", arguments: AggregateKind.allCases)
    func identity(kind: AggregateKind) {
        var random = SplitMix64(seed: 0x1D)
        for _ in 0..<Self.rounds {
            let a = kind.fold(kind.values(&random))
            Self.expectSame(kind, merged(kind.empty, a), a, "empty+a vs a")
            Self.expectSame(kind, merged(a, kind.empty), a, "a+empty vs a")
            if kind.statesCompareExactly || kind == .quantile || kind == .distinctDense {
                #expect(merged(kind.empty, a) == a)
                #expect(merged(a, kind.empty) == a)
            }
        }
        Self.expectSame(kind, merged(kind.empty, kind.empty), kind.empty, "empty+empty")
    }

    @Test("merging any split of the events gives the state of all of them", arguments: AggregateKind.allCases)
    func anySplit(kind: AggregateKind) {
        var random = SplitMix64(seed: 0x5B117)
        for _ in 0..<Self.rounds {
            let values = kind.values(&random)
            let whole = kind.fold(values)
            let parts = random.split(random.shuffled(values), into: random.int(1...7)).map(kind.fold)
            var total = kind.empty
            for part in random.shuffled(parts) { total.merge(part) }
            Self.expectSame(kind, total, whole, "split of \(values.count) into \(parts.count)")
            // Also a random merge tree, not only a left fold.
            var pool = parts
            while pool.count > 1 {
                let i = random.int(0...pool.count - 1)
                let a = pool.remove(at: i)
                let j = random.int(0...pool.count - 1)
                pool[j] = random.chance(0.5) ? merged(a, pool[j]) : merged(pool[j], a)
            }
            Self.expectSame(kind, pool[0], whole, "merge tree of \(parts.count) parts")
        }
    }

    @Test("answers match a brute-force computation", arguments: AggregateKind.allCases)
    func bruteForce(kind: AggregateKind) throws {
        var random = SplitMix64(seed: 0xB2)
        for _ in 0..<Self.rounds {
            let values = kind.values(&random)
            let present = values.compactMap { $0 }
            let ints = present.compactMap { value -> Int64? in
                switch value {
                case .int(let x), .timestamp(let x): x
                default: nil
                }
            }
            let doubles = present.compactMap { value -> Double? in
                if case .double(let x) = value { return x }
                if case .int(let x) = value { return Double(x) }
                return nil
            }
            let answer = kind.result(kind.fold(values))
            switch kind {
            case .count: #expect(answer == .int(Int64(values.count)))
            case .sumInt: #expect(answer == .int(ints.reduce(0, &+)))
            case .sumDouble: #expect(answer == .double(doubles.reduce(0, +)))
            case .minInt: #expect(answer == (ints.min().map(AggregateValue.int) ?? .null))
            case .maxInt: #expect(answer == (ints.max().map(AggregateValue.int) ?? .null))
            case .minDouble: #expect(answer == (doubles.min().map(AggregateValue.double) ?? .null))
            case .maxDouble: #expect(answer == (doubles.max().map(AggregateValue.double) ?? .null))
            case .minTimestamp: #expect(answer == (ints.min().map { .string(Timestamp.format($0)) } ?? .null))
            case .maxTimestamp: #expect(answer == (ints.max().map { .string(Timestamp.format($0)) } ?? .null))
            case .avgInt, .avgDouble:
                if doubles.isEmpty {
                    #expect(answer == .null)
                } else {
                    guard case .double(let average) = answer else {
                        Issue.record("avg answered \(answer)")
                        continue
                    }
                    let expected = doubles.reduce(0, +) / Double(doubles.count)
                    #expect(abs(average - expected) <= 1e-12 * max(1, abs(expected)))
                }
            case .distinctExact:
                #expect(answer == .int(Int64(Set(present).count)))
            case .distinctDense:
                let truth = Double(Set(present).count)
                guard case .int(let estimate) = answer else {
                    Issue.record("distinct answered \(answer)")
                    continue
                }
                if truth <= 256 {
                    #expect(Double(estimate) == truth)
                } else {
                    #expect(abs(Double(estimate) - truth) <= 4 * (1.04 / 32) * truth)
                }
            case .quantile:
                guard case .object(let pairs) = answer else {
                    Issue.record("quantile answered \(answer)")
                    continue
                }
                #expect(pairs.map(\.0) == ["0", "0.1", "0.5", "0.9", "1"])
                let sorted = doubles.sorted()
                for (q, pair) in zip([0, 0.1, 0.5, 0.9, 1], pairs) {
                    if sorted.isEmpty {
                        #expect(pair.1 == .null)
                        continue
                    }
                    let exact = sorted[Int((q * Double(sorted.count - 1)).rounded(.down))]
                    guard case .double(let got) = pair.1 else {
                        Issue.record("quantile \(q) answered \(pair.1)")
                        continue
                    }
                    #expect(abs(got - exact) <= 0.01 * abs(exact) + 1e-9, "q \(q): \(got) vs \(exact)")
                }
            }
        }
    }
}
