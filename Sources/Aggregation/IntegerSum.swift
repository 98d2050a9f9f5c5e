/// The exact sum of 64-bit integers, kept in 128 bits so that it never wraps.
///
/// Tandem widens rather than refuses: a sum of int values answers the exact total whatever its
/// size. Up to 2^64 events of any 64-bit value fit, which no view reaches. An answer that fits in
/// 64 bits is an ordinary JSON integer; a larger one is written with all its digits
/// (``AggregateValue/wideInt(_:)``), which JSON allows, so a client sees the true value or a
/// parse error, never a wrapped number.
public struct IntegerSum: Sendable, Equatable, Hashable {
    /// The low 64 bits, two's complement.
    public private(set) var low: UInt64
    /// The high 64 bits, with the sign.
    public private(set) var high: Int64

    /// Zero.
    public init() {
        low = 0
        high = 0
    }

    /// A sum holding one 64-bit value.
    public init(_ value: Int64) {
        low = UInt64(bitPattern: value)
        high = value < 0 ? -1 : 0
    }

    /// A sum from its two halves (as encoded).
    public init(high: Int64, low: UInt64) {
        self.low = low
        self.high = high
    }

    /// Adds one value.
    @inline(__always)
    public mutating func add(_ value: Int64) {
        let (sum, carry) = low.addingReportingOverflow(UInt64(bitPattern: value))
        low = sum
        // Sign extension of `value` plus the carry; wrapping here needs 2^64 additions.
        high = high &+ (value < 0 ? -1 : 0) &+ (carry ? 1 : 0)
    }

    /// Adds another sum.
    @inline(__always)
    public mutating func add(_ other: IntegerSum) {
        let (sum, carry) = low.addingReportingOverflow(other.low)
        low = sum
        high = high &+ other.high &+ (carry ? 1 : 0)
    }

    /// The value when it fits in 64 bits.
    public var int64: Int64? {
        let value = Int64(bitPattern: low)
        return high == (value < 0 ? -1 : 0) ? value : nil
    }

    /// The full value.
    public var value: Int128 { Int128(high) << 64 | Int128(low) }
}
