import Events

/// The codes of a dimension's ASCII string values, found by the bytes of a stored record: the
/// scan's fast path past the `String` and the `Dictionary` of ``EncodedState``'s lookups, which
/// cost a UTF-8 validation, a string and a SipHash per event.
///
/// Only ASCII values are held. Two ASCII strings are equal as `String`s exactly when their bytes
/// are equal, so a hit here gives the code the canonical lookup would give. Any other value
/// (and a miss) goes through the canonical lookup, which also finds a non-ASCII spelling that is
/// canonically equal to an ASCII one (the Kelvin sign and `K`).
///
/// An open-addressing table of codes with linear probing, at most half full; each code's bytes
/// live back to back in one buffer. The hash is seeded once per process, as ``SlotTable``'s is,
/// so values chosen to collide cannot slow a partition down.
struct ASCIICodeTable: Sendable {
    /// Codes; -1 where free. The count is a power of two.
    private var table = [Int32](repeating: -1, count: 16)
    private var held = 0
    /// Per code: the hash, and where its bytes are (`start` -1 for a code not held).
    private var hashes: [UInt64] = []
    private var starts: [Int] = []
    private var lengths: [Int32] = []
    private var bytes: [UInt8] = []

    private static let seed = UInt64.random(in: .min ... .max)

    /// The hash of `value`, and whether every byte is ASCII.
    @inline(__always)
    static func hash(_ value: UnsafeRawBufferPointer) -> (hash: UInt64, ascii: Bool) {
        @inline(__always) func mix(_ state: UInt64, _ word: UInt64) -> UInt64 {
            var z = (state ^ word) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 31)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 29)
        }
        var state = seed ^ UInt64(value.count)
        var high: UInt64 = 0
        var index = 0
        while value.count - index >= 8 {
            let word = value.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            high |= word
            state = mix(state, word)
            index += 8
        }
        if index < value.count {
            var word: UInt64 = 0
            var shift: UInt64 = 0
            while index < value.count {
                word |= UInt64(value[index]) << shift
                shift += 8
                index += 1
            }
            high |= word
            state = mix(state, word)
        }
        return (state, high & 0x8080_8080_8080_8080 == 0)
    }

    /// The code held for `value` (with its `hash`), if any.
    @inline(__always)
    func code(of value: UnsafeRawBufferPointer, hash: UInt64) -> UInt32? {
        let mask = table.count - 1
        var position = Int(truncatingIfNeeded: hash) & mask
        while true {
            let code = Int(table[position])
            if code < 0 { return nil }
            if hashes[code] == hash && Int(lengths[code]) == value.count {
                let start = starts[code]
                let equal = bytes.withUnsafeBytes { stored in
                    Self.equal(UnsafeRawBufferPointer(rebasing: stored[start..<(start + value.count)]), value)
                }
                if equal { return UInt32(code) }
            }
            position = (position + 1) & mask
        }
    }

    /// Whether two buffers of the same length hold the same bytes (eight at a time).
    @inline(__always)
    private static func equal(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        while b.count - index >= 8 {
            if a.loadUnaligned(fromByteOffset: index, as: UInt64.self) != b.loadUnaligned(fromByteOffset: index, as: UInt64.self) {
                return false
            }
            index += 8
        }
        while index < b.count {
            if a[index] != b[index] { return false }
            index += 1
        }
        return true
    }

    /// Holds `value` (ASCII, with its `hash`) as the spelling of `code`, which it does not hold yet.
    mutating func insert(_ value: UnsafeRawBufferPointer, hash: UInt64, code: UInt32) {
        let code = Int(code)
        if hashes.count <= code {
            let missing = code + 1 - hashes.count
            hashes.append(contentsOf: repeatElement(0, count: missing))
            starts.append(contentsOf: repeatElement(-1, count: missing))
            lengths.append(contentsOf: repeatElement(0, count: missing))
        }
        hashes[code] = hash
        starts[code] = bytes.count
        lengths[code] = Int32(value.count)
        bytes.append(contentsOf: value)
        held += 1
        if held * 2 > table.count {
            table = [Int32](repeating: -1, count: table.count * 2)
            for other in starts.indices where starts[other] >= 0 { place(other) }
        } else {
            place(code)
        }
    }

    private mutating func place(_ code: Int) {
        let mask = table.count - 1
        var position = Int(truncatingIfNeeded: hashes[code]) & mask
        while table[position] >= 0 { position = (position + 1) & mask }
        table[position] = Int32(code)
    }
}

extension EncodedState {
    /// The code of the string value whose UTF-8 bytes are `value` in `dimension`, interning it
    /// when new: the same code as ``code(of:dimension:)`` gives `.string(String(decoding:))`.
    @inline(__always)
    mutating func code(ofString value: UnsafeRawBufferPointer, dimension: Int) -> UInt32 {
        let (hash, ascii) = ASCIICodeTable.hash(value)
        if ascii, let code = asciiCodes[dimension].code(of: value, hash: hash) { return code }
        let code = code(of: .string(String(decoding: value, as: UTF8.self)), dimension: dimension)
        if ascii { asciiCodes[dimension].insert(value, hash: hash, code: code) }
        return code
    }
}
