import Aggregation
import Events
import NIOCore

/// The typed columns of a version table: one per dimension with its PostgreSQL type, and one per
/// aggregate where PostgreSQL has a type (count as `bigint`; sum, min and max typed; avg as the
/// average with its sum and count; distinct and quantiles as their estimates), beside the exact
/// binary states Tandem merges. Table columns are named by position (`d_0`, `a_0`), so no user
/// name is ever an identifier of the table; the SQL view `tandem."<view>"` gives them the view's
/// names. Text dimensions use the "C" collation: byte order, the order Tandem itself sorts text
/// in, and several times faster to index than a locale's.
struct TypedColumns: Sendable {
    /// One column: its name in the table, its type, and its name in the SQL view.
    struct Column: Sendable, Equatable {
        var table: String
        var type: String
        var alias: String
    }

    /// Dimension columns, in the view's dimension order.
    let dimensions: [Column]
    /// Aggregate columns, in the view's aggregate order (several for avg and quantile lists).
    let aggregates: [Column]
    private let view: CompiledView

    init(_ view: CompiledView) {
        self.view = view
        dimensions = view.definition.dimensions.enumerated().map { index, name in
            let type = view.stream.fields[view.stream.fieldIndex(name)!].type
            return Column(table: "d_\(index)", type: Self.sqlType(type) + (type == .string ? " COLLATE \"C\"" : ""), alias: name)
        }
        var aggregates: [Column] = []
        for (index, (aggregate, fieldType)) in zip(view.definition.aggregates, view.aggregateFieldTypes).enumerated() {
            let name = aggregate.name, column = "a_\(index)"
            switch aggregate.spec.function {
            case .count, .distinct:
                aggregates.append(Column(table: column, type: "bigint", alias: name))
            case .sum:
                aggregates.append(Column(table: column, type: fieldType == .double ? "double precision" : "numeric", alias: name))
            case .min, .max:
                aggregates.append(Column(table: column, type: Self.sqlType(fieldType ?? .double), alias: name))
            case .avg:
                aggregates.append(Column(table: column, type: "double precision", alias: name))
                aggregates.append(Column(table: column + "_sum", type: "double precision", alias: name + "_sum"))
                aggregates.append(Column(table: column + "_count", type: "bigint", alias: name + "_count"))
            case .quantile:
                if aggregate.spec.quantilesAsList {
                    for (position, q) in aggregate.spec.quantiles.enumerated() {
                        let label = AggregateState.quantileKey(q).replacing(".", with: "_")
                        aggregates.append(Column(table: column + "_\(position)", type: "double precision", alias: name + "_q" + label))
                    }
                } else {
                    aggregates.append(Column(table: column, type: "double precision", alias: name))
                }
            }
        }
        self.aggregates = aggregates
    }

    static func sqlType(_ type: FieldType) -> String {
        switch type {
        case .string: "text"
        case .int: "bigint"
        case .double: "double precision"
        case .bool: "boolean"
        case .timestamp: "timestamptz"
        }
    }

    /// The column list of `CREATE TABLE`, after `bucket`, `group_key` and `states`.
    var definitions: String {
        (dimensions + aggregates).map { "\($0.table) \($0.type)" }.joined(separator: ", ")
    }

    /// The column names for COPY, after `bucket`, `group_key` and `states`.
    var names: [String] { (dimensions + aggregates).map(\.table) }

    /// The statement that (re)creates `tandem."<view>"` over `table`.
    func viewStatements(table: String, version: Int64, cut: [Int64]) -> [String] {
        // Names must be unique in a view: a name another column already has (an avg `lat` beside
        // a sum `lat_sum`, a repeated quantile, a dimension called `bucket_start`) gets a
        // numbered suffix.
        // PostgreSQL cuts identifiers at 63 bytes, so names are cut first (ours are ASCII).
        var taken = Set<String>()
        func unique(_ alias: String) -> String {
            func fit(_ suffix: String) -> String { String(alias.prefix(63 - suffix.count)) + suffix }
            var candidate = fit(""), number = 2
            while !taken.insert(candidate).inserted {
                candidate = fit("_\(number)")
                number += 1
            }
            return candidate
        }
        let named = (dimensions + aggregates).map { "\($0.table) AS \(BatchStore.quoted(unique($0.alias)))" }
        let columns = ["to_timestamp(bucket / 1000.0) AS \(BatchStore.quoted(unique("bucket_start")))"] + named
        let name = "tandem." + BatchStore.quoted(view.name)
        let comment =
            "Tandem view \(view.name), version \(version): one row per bucket and group, from the records below the cut \(cut) (the speed layer holds the rest)"
        // The schema comes from migration 003.
        return [
            "DROP VIEW IF EXISTS \(name)",
            "CREATE VIEW \(name) AS SELECT \(columns.joined(separator: ", ")) FROM \(BatchStore.quoted(table))",
            "COMMENT ON VIEW \(name) IS '\(comment.replacing("'", with: "''"))'",
        ]
    }

    /// Appends a dimension value in COPY text format.
    static func writeDimension(_ value: FieldValue?, to buffer: inout ByteBuffer) { write(value, to: &buffer) }

    /// Appends the typed values of a row's states in COPY text format, each preceded by a tab.
    func write(states row: ArraySlice<AggregateState>, to buffer: inout ByteBuffer) {
        for (index, (state, aggregate)) in zip(row, view.definition.aggregates).enumerated() {
            let fieldType = view.aggregateFieldTypes[index]
            switch (aggregate.spec.function, state) {
            case (.avg, .avg(let total, let count)):
                buffer.writeInteger(UInt8(ascii: "\t"))
                Self.write(count == 0 ? nil : total.value / Double(count), to: &buffer)
                buffer.writeInteger(UInt8(ascii: "\t"))
                Self.write(total.value, to: &buffer)
                buffer.writeInteger(UInt8(ascii: "\t"))
                buffer.writeString(String(count))
            case (.count, .count(let count)):
                buffer.writeInteger(UInt8(ascii: "\t"))
                Self.writeInteger(count, to: &buffer)
            default:
                switch state.result(aggregate.spec, fieldType: fieldType) {
                case .object(let entries):
                    for (_, value) in entries {
                        buffer.writeInteger(UInt8(ascii: "\t"))
                        Self.write(value, to: &buffer)
                    }
                case let value:
                    buffer.writeInteger(UInt8(ascii: "\t"))
                    Self.write(value, to: &buffer)
                }
            }
        }
    }

    /// Appends an integer's decimal digits without building a `String`.
    static func writeInteger(_ number: Int64, to buffer: inout ByteBuffer) {
        if number < 0 { buffer.writeInteger(UInt8(ascii: "-")) }
        var magnitude = number.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: enough for 20 digits
        var count = 0
        withUnsafeMutableBytes(of: &digits) { raw in
            repeat {
                raw[23 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: raw[(24 - count)...]))
        }
    }

    private static func write(_ value: FieldValue?, to buffer: inout ByteBuffer) {
        switch value {
        case nil: buffer.writeStaticString("\\N")
        case .string(let text)?: writeText(text, to: &buffer)
        case .int(let number)?: writeInteger(number, to: &buffer)
        case .double(let number)?: write(number, to: &buffer)
        case .bool(let flag)?: buffer.writeStaticString(flag ? "t" : "f")
        case .timestamp(let time)?: buffer.writeString(Timestamp.format(time))
        }
    }

    private static func write(_ value: AggregateValue, to buffer: inout ByteBuffer) {
        switch value {
        case .int(let number): writeInteger(number, to: &buffer)
        case .wideInt(let number): buffer.writeString(String(number))
        case .double(let number): write(number, to: &buffer)
        // Only timestamp minima and maxima answer as strings (RFC 3339, which timestamptz reads).
        case .string(let text): writeText(text, to: &buffer)
        case .null, .object: buffer.writeStaticString("\\N")
        }
    }

    private static func write(_ number: Double?, to buffer: inout ByteBuffer) {
        guard let number else {
            buffer.writeStaticString("\\N")
            return
        }
        if number.isNaN {
            buffer.writeStaticString("NaN")
        } else if number.isInfinite {
            buffer.writeStaticString(number > 0 ? "Infinity" : "-Infinity")
        } else {
            buffer.writeString("\(number)")
        }
    }

    /// Text in COPY text format: backslash, tab, newline and carriage return escaped. PostgreSQL
    /// text cannot hold NUL, so a NUL becomes U+FFFD here (the exact value stays in `group_key`).
    private static func writeText(_ text: String, to buffer: inout ByteBuffer) {
        for byte in text.utf8 {
            switch byte {
            case 0: buffer.writeBytes([0xEF, 0xBF, 0xBD])
            case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
            case UInt8(ascii: "\t"): buffer.writeStaticString("\\t")
            case UInt8(ascii: "\n"): buffer.writeStaticString("\\n")
            case UInt8(ascii: "\r"): buffer.writeStaticString("\\r")
            default: buffer.writeInteger(byte)
            }
        }
    }
}
