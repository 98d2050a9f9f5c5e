extension RandomAccessCollection where Element: Comparable, Index == Int {
    /// The first position whose element is not less than `value`, in a collection sorted
    /// ascending (`endIndex` when there is none): a binary search.
    func lowerBound(of value: Element) -> Int {
        var low = startIndex, high = endIndex
        while low < high {
            let middle = low + (high - low) / 2
            if self[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
