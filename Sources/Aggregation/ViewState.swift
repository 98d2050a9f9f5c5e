import Events

/// The values of a view's dimensions for one group (`nil` where an event lacked the field).
public struct GroupKey: Hashable, Sendable {
    /// One value per dimension, in the view's dimension order.
    public var values: [FieldValue?]

    /// Creates a key.
    public init(_ values: [FieldValue?]) { self.values = values }
}

/// Where a row of state lives: a base bucket (its start, epoch ms) and a group.
public struct StateKey: Hashable, Sendable {
    /// The bucket's start, epoch milliseconds.
    public var bucket: Int64
    /// The group.
    public var group: GroupKey

    /// Creates a key.
    public init(bucket: Int64, group: GroupKey) {
        self.bucket = bucket
        self.group = group
    }
}

/// A view's aggregate states by (bucket, group): one row of states per key, in the view's
/// aggregate order. Merging two view states merges rows key by key, so a view state is itself a
/// mergeable monoid.
public struct ViewState: Sendable, Equatable {
    /// The rows.
    public var rows: [StateKey: [AggregateState]] = [:]

    /// An empty state.
    public init() {}

    /// Merges another state into this one.
    public mutating func merge(_ other: ViewState) {
        for (key, row) in other.rows { mergeRow(row, at: key) }
    }

    /// Merges one row into the row at `key`.
    public mutating func mergeRow(_ row: [AggregateState], at key: StateKey) {
        if rows[key] == nil {
            rows[key] = row
        } else {
            rows[key]!.mergeRow(row)
        }
    }

    /// The number of (bucket, group) rows.
    public var count: Int { rows.count }

    /// The rows whose bucket starts in `[from, to)`.
    public func filtered(from: Int64, to: Int64) -> ViewState {
        var result = ViewState()
        result.rows = rows.filter { $0.key.bucket >= from && $0.key.bucket < to }
        return result
    }
}

extension Array where Element == AggregateState {
    /// Merges another row of the same aggregates, position by position.
    public mutating func mergeRow(_ other: [AggregateState]) {
        for index in indices { self[index].merge(other[index]) }
    }
}
