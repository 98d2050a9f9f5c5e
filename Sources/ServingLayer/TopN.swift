/// The first `limit` positions of a list in a total order, without sorting the whole list: a
/// bounded heap keeps the best `limit` seen so far (O(n log limit)), then only they are sorted.
enum TopN {
    /// The positions `0..<count` ordered by `precedes`, keeping the first `limit` (all when `nil`).
    /// `precedes` must be a strict total order (break ties by position).
    static func select(count: Int, limit: Int?, by precedes: (Int, Int) -> Bool) -> [Int] {
        guard let limit, limit < count else { return (0..<count).sorted(by: precedes) }
        guard limit > 0 else { return [] }
        // A heap whose root is the worst of the best so far.
        var heap: [Int] = []
        heap.reserveCapacity(limit)
        func worse(_ a: Int, _ b: Int) -> Bool { precedes(b, a) }
        func siftUp(_ start: Int) {
            var child = start
            while child > 0 {
                let parent = (child - 1) / 2
                guard worse(heap[child], heap[parent]) else { return }
                heap.swapAt(child, parent)
                child = parent
            }
        }
        func siftDown(_ start: Int) {
            var parent = start
            while true {
                let left = 2 * parent + 1, right = left + 1
                var worst = parent
                if left < heap.count && worse(heap[left], heap[worst]) { worst = left }
                if right < heap.count && worse(heap[right], heap[worst]) { worst = right }
                guard worst != parent else { return }
                heap.swapAt(parent, worst)
                parent = worst
            }
        }
        for position in 0..<count {
            if heap.count < limit {
                heap.append(position)
                siftUp(heap.count - 1)
            } else if precedes(position, heap[0]) {
                heap[0] = position
                siftDown(0)
            }
        }
        return heap.sorted(by: precedes)
    }
}
