/// A syntax error in a JSON body, at a byte position.
struct JSONSyntaxError: Error {
    var position: Int
    var message: String
}

/// A forward-only reader over JSON bytes that never allocates on well-formed input.
struct JSONCursor {
    let bytes: UnsafeRawBufferPointer
    var position: Int
    var end: Int

    init(_ bytes: UnsafeRawBufferPointer, from start: Int = 0, to end: Int? = nil) {
        self.bytes = bytes
        self.position = start
        self.end = end ?? bytes.count
    }

    var atEnd: Bool { position >= end }

    @inline(__always)
    var peek: UInt8 { position < end ? bytes[position] : 0 }

    @inline(__always)
    mutating func skipWhitespace() {
        while position < end {
            let byte = bytes[position]
            guard byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 else { return }
            position += 1
        }
    }

    func error(_ message: String) -> JSONSyntaxError { JSONSyntaxError(position: position, message: message) }

    @inline(__always)
    mutating func expect(_ byte: UInt8, _ what: String) throws(JSONSyntaxError) {
        guard position < end, bytes[position] == byte else {
            throw error(atEnd ? "unexpected end of input, expected \(what)" : "expected \(what)")
        }
        position += 1
    }

    /// A scanned string: its raw bytes (between the quotes) and whether they hold escapes.
    struct RawString {
        var start: Int
        var count: Int
        var escaped: Bool
    }

    /// Scans a string whose opening quote is at `position`.
    @inline(__always)
    mutating func scanString() throws(JSONSyntaxError) -> RawString {
        position += 1
        let start = position
        var escaped = false
        var highBytes = false
        while position < end {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let raw = RawString(start: start, count: position - start, escaped: escaped)
                position += 1
                if highBytes, !UTF8Validation.isValid(UnsafeRawBufferPointer(rebasing: bytes[raw.start..<raw.start + raw.count])) {
                    throw JSONSyntaxError(position: start, message: "string is not valid UTF-8")
                }
                return raw
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
                position += 2
            } else if byte < 0x20 {
                throw error("control character in string")
            } else {
                if byte >= 0x80 { highBytes = true }
                position += 1
            }
        }
        throw JSONSyntaxError(position: start - 1, message: "unterminated string")
    }

    /// Appends the unescaped UTF-8 of `raw` to `output`.
    func unescape(_ raw: RawString, into output: inout [UInt8]) throws(JSONSyntaxError) {
        var index = raw.start
        let limit = raw.start + raw.count
        while index < limit {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "\\") else {
                output.append(byte)
                index += 1
                continue
            }
            guard index + 1 < limit else { throw JSONSyntaxError(position: index, message: "bad escape") }
            let escape = bytes[index + 1]
            index += 2
            switch escape {
            case UInt8(ascii: "\""): output.append(0x22)
            case UInt8(ascii: "\\"): output.append(0x5C)
            case UInt8(ascii: "/"): output.append(0x2F)
            case UInt8(ascii: "b"): output.append(0x08)
            case UInt8(ascii: "f"): output.append(0x0C)
            case UInt8(ascii: "n"): output.append(0x0A)
            case UInt8(ascii: "r"): output.append(0x0D)
            case UInt8(ascii: "t"): output.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4(at: index, limit: limit)
                index += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    guard index + 6 <= limit, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                        throw JSONSyntaxError(position: index, message: "unpaired surrogate in \\u escape")
                    }
                    let low = try hex4(at: index + 2, limit: limit)
                    guard (0xDC00...0xDFFF).contains(low) else {
                        throw JSONSyntaxError(position: index, message: "unpaired surrogate in \\u escape")
                    }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    index += 6
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw JSONSyntaxError(position: index, message: "unpaired surrogate in \\u escape")
                }
                UTF8Validation.appendScalar(scalar, to: &output)
            default:
                throw JSONSyntaxError(position: index - 2, message: "bad escape")
            }
        }
    }

    private func hex4(at index: Int, limit: Int) throws(JSONSyntaxError) -> UInt32 {
        guard index + 4 <= limit else { throw JSONSyntaxError(position: index, message: "short \\u escape") }
        var value: UInt32 = 0
        for i in index..<index + 4 {
            let byte = bytes[i]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - 48)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - 87)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - 55)
            default: throw JSONSyntaxError(position: i, message: "bad hex digit in \\u escape")
            }
            value = value << 4 | digit
        }
        return value
    }

    /// A scanned number.
    struct RawNumber {
        var start: Int
        var count: Int
        /// The value, when it is written as a plain integer (no fraction or exponent) that fits in
        /// 64 bits; see ``JSONCursor/exactInteger(_:)`` for other integral spellings.
        var integer: Int64?
        /// The value as a double.
        var double: Double
    }

    private static let powersOfTen: [Double] = (0...22).map { exponent in
        var value = 1.0
        for _ in 0..<exponent { value *= 10 }
        return value
    }

    /// Scans a number at `position` (strict JSON grammar).
    @inline(__always)
    mutating func scanNumber() throws(JSONSyntaxError) -> RawNumber {
        let start = position
        var negative = false
        if peek == UInt8(ascii: "-") {
            negative = true
            position += 1
        }
        var mantissa: UInt64 = 0
        var digits = 0
        var significantOverflow = false
        let firstDigit = peek
        guard firstDigit >= UInt8(ascii: "0"), firstDigit <= UInt8(ascii: "9") else { throw error("bad number") }
        while position < end, bytes[position] &- 48 < 10 {
            if digits < 19 { mantissa = mantissa &* 10 &+ UInt64(bytes[position] &- 48) } else { significantOverflow = true }
            digits += 1
            position += 1
        }
        if firstDigit == UInt8(ascii: "0"), digits > 1 { throw JSONSyntaxError(position: start, message: "leading zero in number") }
        var fractionDigits = 0
        var isInteger = true
        if peek == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            while position < end, bytes[position] &- 48 < 10 {
                if digits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(bytes[position] &- 48)
                    digits += 1
                    fractionDigits += 1
                } else {
                    significantOverflow = true
                }
                position += 1
            }
            guard bytes[position - 1] != UInt8(ascii: ".") else { throw error("bad number") }
        }
        var exponent = 0
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            isInteger = false
            position += 1
            var exponentNegative = false
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") {
                exponentNegative = peek == UInt8(ascii: "-")
                position += 1
            }
            let exponentStart = position
            while position < end, bytes[position] &- 48 < 10 {
                if exponent < 100_000 { exponent = exponent * 10 + Int(bytes[position] &- 48) }
                position += 1
            }
            guard position > exponentStart else { throw error("bad number exponent") }
            if exponentNegative { exponent = -exponent }
        }
        let count = position - start
        if isInteger, !significantOverflow {
            if negative {
                if mantissa <= UInt64(Int64.max) + 1 {
                    let value = mantissa == UInt64(Int64.max) + 1 ? Int64.min : -Int64(mantissa)
                    return RawNumber(start: start, count: count, integer: value, double: Double(value))
                }
            } else if mantissa <= UInt64(Int64.max) {
                return RawNumber(start: start, count: count, integer: Int64(mantissa), double: Double(mantissa))
            }
        }
        let scale = exponent - fractionDigits
        if !significantOverflow, mantissa <= 1 << 53, scale >= -22, scale <= 22 {
            var value = Double(mantissa)
            value = scale < 0 ? value / Self.powersOfTen[-scale] : value * Self.powersOfTen[scale]
            let double = negative ? -value : value
            return RawNumber(start: start, count: count, integer: nil, double: double)
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        guard let double = Double(text) else { throw JSONSyntaxError(position: start, message: "bad number") }
        return RawNumber(start: start, count: count, integer: nil, double: double)
    }

    /// The exact value of a number written with a fraction or an exponent (`2.0`, `1e3`,
    /// `9007199254740993.0`) when it is an integer that fits in 64 bits; computed from the decimal
    /// digits, never through a double, so no precision is lost. Off the hot path: only int and
    /// timestamp fields given such spellings get here.
    func exactInteger(_ number: RawNumber) -> Int64? {
        if let integer = number.integer { return integer }
        var index = number.start
        let end = number.start + number.count
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        var digits: [UInt8] = []
        var fractionDigits = 0
        var exponent = 0
        var inFraction = false
        while index < end {
            let byte = bytes[index]
            if byte == UInt8(ascii: ".") {
                inFraction = true
            } else if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                index += 1
                var exponentNegative = false
                if bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                    exponentNegative = bytes[index] == UInt8(ascii: "-")
                    index += 1
                }
                while index < end {
                    if exponent < 10_000 { exponent = exponent * 10 + Int(bytes[index] &- 48) }
                    index += 1
                }
                if exponentNegative { exponent = -exponent }
                break
            } else {
                digits.append(byte &- 48)
                if inFraction { fractionDigits += 1 }
            }
            index += 1
        }
        var scale = exponent - fractionDigits
        // Index bounds instead of removeFirst/removeLast: linear in the number's length, however
        // many zeros a hostile client writes.
        var last = digits.count
        while scale < 0, last > 0 {
            guard digits[last - 1] == 0 else { return nil }
            last -= 1
            scale += 1
        }
        var first = 0
        while first < last, digits[first] == 0 { first += 1 }
        if first == last { return 0 }
        guard scale >= 0, last - first + scale <= 19 else { return nil }
        var magnitude: UInt64 = 0
        for digit in digits[first..<last] {
            let (product, overflow) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, carry) = product.addingReportingOverflow(UInt64(digit))
            guard !overflow, !carry else { return nil }
            magnitude = sum
        }
        for _ in 0..<scale {
            let (product, overflow) = magnitude.multipliedReportingOverflow(by: 10)
            guard !overflow else { return nil }
            magnitude = product
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }

    /// Scans `true`, `false` or `null` at `position`.
    mutating func scanLiteral() throws(JSONSyntaxError) -> UInt8 {
        let first = peek
        let word: StaticString
        switch first {
        case UInt8(ascii: "t"): word = "true"
        case UInt8(ascii: "f"): word = "false"
        case UInt8(ascii: "n"): word = "null"
        default: throw error("unexpected character")
        }
        let length = word.utf8CodeUnitCount
        guard position + length <= end else { throw error("unexpected end of input") }
        for i in 0..<length where bytes[position + i] != word.utf8Start[i] { throw error("unexpected character") }
        position += length
        return first
    }

    /// Skips one value of any kind, nested up to a depth limit.
    mutating func skipValue(depth: Int = 0) throws(JSONSyntaxError) {
        guard depth < 64 else { throw error("nesting too deep") }
        switch peek {
        case UInt8(ascii: "\""):
            _ = try scanString()
        case UInt8(ascii: "{"):
            position += 1
            skipWhitespace()
            if peek == UInt8(ascii: "}") {
                position += 1
                return
            }
            while true {
                skipWhitespace()
                guard peek == UInt8(ascii: "\"") else { throw error("expected a string key") }
                _ = try scanString()
                skipWhitespace()
                try expect(UInt8(ascii: ":"), "':'")
                skipWhitespace()
                try skipValue(depth: depth + 1)
                skipWhitespace()
                if peek == UInt8(ascii: ",") {
                    position += 1
                    continue
                }
                try expect(UInt8(ascii: "}"), "',' or '}'")
                return
            }
        case UInt8(ascii: "["):
            position += 1
            skipWhitespace()
            if peek == UInt8(ascii: "]") {
                position += 1
                return
            }
            while true {
                skipWhitespace()
                try skipValue(depth: depth + 1)
                skipWhitespace()
                if peek == UInt8(ascii: ",") {
                    position += 1
                    continue
                }
                try expect(UInt8(ascii: "]"), "',' or ']'")
                return
            }
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            _ = try scanNumber()
        default:
            _ = try scanLiteral()
        }
    }
}
