import Aggregation
import Events

/// One partition's speed state as another server asks for it, when partitions are divided
/// among servers (``SpeedLayer/export(view:partitions:atOrAfter:from:to:)``), and its binary
/// form on the wire between servers.
public enum PartitionExport: Sendable, Equatable {
    /// The merged state of the partition's segments at or after the cut, restricted to the
    /// buckets asked, and where its consumer stood.
    case state(ViewState, position: Int64, maxEventTime: Int64?, lastIngestTime: Int64?)
    /// This server does not compute the partition.
    case notOwned
    /// No segment starts at the cut's offset here: the partition was dropped past it (a newer
    /// version was published), or has not reached it (it moved here, and this server has not
    /// seen the version yet).
    case cutUnavailable(firstSegment: Int64)

    /// The first bytes of the binary form, with its version.
    static let magic: [UInt8] = Array("TPX1".utf8)

    /// Encodes exports in order: the magic, the count, then per export a tag (0 state,
    /// 1 not owned, 2 cut unavailable) and its fields; a state is its position, largest event
    /// time and last ingest time (each optional: a presence byte), its row count, and per row
    /// the bucket, the group key and the states (``RowCoding``, each with its length).
    public static func encode(_ exports: [PartitionExport]) -> [UInt8] {
        var bytes = magic
        var scratch: [UInt8] = [], encoded: [UInt8] = []
        Varint.append(UInt64(exports.count), to: &bytes)
        func optional(_ value: Int64?) {
            bytes.append(value == nil ? 0 : 1)
            if let value { Varint.appendSigned(value, to: &bytes) }
        }
        for export in exports {
            switch export {
            case .state(let state, let position, let maxEventTime, let lastIngestTime):
                bytes.append(0)
                Varint.appendSigned(position, to: &bytes)
                optional(maxEventTime)
                optional(lastIngestTime)
                Varint.append(UInt64(state.rows.count), to: &bytes)
                for (key, row) in state.rows {
                    Varint.appendSigned(key.bucket, to: &bytes)
                    // Each part is written to one reused buffer first, for its length.
                    encoded.removeAll(keepingCapacity: true)
                    RowCoding.appendKeyHeader(count: key.group.values.count, to: &encoded)
                    for value in key.group.values { RowCoding.appendKeyValue(value, to: &encoded) }
                    Varint.append(UInt64(encoded.count), to: &bytes)
                    bytes += encoded
                    encoded.removeAll(keepingCapacity: true)
                    RowCoding.append(row[...], to: &encoded, scratch: &scratch)
                    Varint.append(UInt64(encoded.count), to: &bytes)
                    bytes += encoded
                }
            case .notOwned:
                bytes.append(1)
            case .cutUnavailable(let firstSegment):
                bytes.append(2)
                Varint.appendSigned(firstSegment, to: &bytes)
            }
        }
        return bytes
    }

    /// Decodes what ``encode(_:)`` wrote.
    /// - Throws: ``ByteReader/Failure`` for bytes that are not such an encoding.
    public static func decode(_ bytes: [UInt8]) throws -> [PartitionExport] {
        var reader = ByteReader(bytes)
        guard Array(try reader.take(magic.count)) == magic else { throw ByteReader.Failure(description: "not a partition export") }
        guard let count = Int(exactly: try reader.varint()), count <= bytes.count else { throw ByteReader.Failure(description: "bad export count") }
        func optional() throws -> Int64? { try reader.byte() == 0 ? nil : try reader.signed() }
        func length() throws -> Int {
            guard let length = Int(exactly: try reader.varint()) else { throw ByteReader.Failure(description: "bad length") }
            return length
        }
        var exports: [PartitionExport] = []
        for _ in 0..<count {
            switch try reader.byte() {
            case 0:
                let position = try reader.signed()
                let maxEventTime = try optional()
                let lastIngestTime = try optional()
                let rows = try length()
                guard rows <= bytes.count else { throw ByteReader.Failure(description: "bad row count") }
                var state = ViewState()
                for _ in 0..<rows {
                    let bucket = try reader.signed()
                    let group = try RowCoding.decodeKey(Array(try reader.take(try length())))
                    let row = try RowCoding.decodeRow(Array(try reader.take(try length())))
                    state.mergeRow(row, at: StateKey(bucket: bucket, group: group))
                }
                exports.append(.state(state, position: position, maxEventTime: maxEventTime, lastIngestTime: lastIngestTime))
            case 1: exports.append(.notOwned)
            case 2: exports.append(.cutUnavailable(firstSegment: try reader.signed()))
            default: throw ByteReader.Failure(description: "bad export tag")
            }
        }
        guard reader.atEnd else { throw ByteReader.Failure(description: "trailing bytes after the exports") }
        return exports
    }
}
