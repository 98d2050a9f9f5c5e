/// Values by partition number, written in JSON as an object keyed by the partition's decimal
/// number (`{"0": 120, "1": 98}`), as every offset map of the HTTP API is.
public struct PartitionMap<Value: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
    /// The values by partition.
    public var values: [Int: Value]

    /// Creates a map.
    public init(_ values: [Int: Value] = [:]) { self.values = values }

    /// A map of one value per partition, partition `i` holding `list[i]`.
    public init(_ list: [Value]) { values = Dictionary(uniqueKeysWithValues: list.enumerated().map { ($0.offset, $0.element) }) }

    /// The value of a partition.
    public subscript(partition: Int) -> Value? { values[partition] }

    /// The values in partition order (partitions `0..<count`; a missing one ends the list).
    public var list: [Value] {
        var result: [Value] = []
        while let value = values[result.count] { result.append(value) }
        return result
    }

    public init(from decoder: any Decoder) throws {
        let object = try [String: Value](from: decoder)
        var values: [Int: Value] = [:]
        for (key, value) in object {
            guard let partition = Int(key) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "\"\(key)\" is not a partition number"))
            }
            values[partition] = value
        }
        self.values = values
    }

    public func encode(to encoder: any Encoder) throws {
        try Dictionary(uniqueKeysWithValues: values.map { (String($0.key), $0.value) }).encode(to: encoder)
    }
}
