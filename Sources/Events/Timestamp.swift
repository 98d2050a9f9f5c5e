/// RFC 3339 timestamps to and from epoch milliseconds, without Foundation's date machinery (which
/// is far too slow for the ingest path).
public enum Timestamp {
    /// The times Tandem stores and computes with: 0001-01-01T00:00:00.000Z to
    /// 9999-12-31T23:59:59.999Z, the years RFC 3339 can write. Every event time and timestamp
    /// value is checked against it on ingest, so bucket and window arithmetic (steps of at most a
    /// few centuries) can never overflow 64 bits.
    public static let supportedRange: ClosedRange<Int64> = -62_135_596_800_000...253_402_300_799_999

    /// Parses an RFC 3339 date-time (`2026-11-20T00:00:01.250Z`, `...+02:00`; `t`, `z` and a space
    /// separator are accepted) into epoch milliseconds. Fractions beyond milliseconds are truncated.
    public static func parse(_ text: UnsafeRawBufferPointer) -> Int64? {
        let count = text.count
        guard count >= 20 else { return nil }
        @inline(__always) func digit(_ i: Int) -> Int? {
            let d = Int(text[i]) &- 48
            return d >= 0 && d <= 9 ? d : nil
        }
        @inline(__always) func number(_ start: Int, _ length: Int) -> Int? {
            var value = 0
            for i in start..<start + length {
                guard let d = digit(i) else { return nil }
                value = value * 10 + d
            }
            return value
        }
        guard let year = number(0, 4), text[4] == UInt8(ascii: "-"), let month = number(5, 2), text[7] == UInt8(ascii: "-"),
            let day = number(8, 2)
        else { return nil }
        let separator = text[10]
        guard separator == UInt8(ascii: "T") || separator == UInt8(ascii: "t") || separator == UInt8(ascii: " ") else { return nil }
        guard let hour = number(11, 2), text[13] == UInt8(ascii: ":"), let minute = number(14, 2), text[16] == UInt8(ascii: ":"),
            let second = number(17, 2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month), hour <= 23, minute <= 59,
            second <= 60
        else { return nil }
        var position = 19
        var millis = 0
        if position < count, text[position] == UInt8(ascii: ".") {
            position += 1
            var digits = 0
            while position < count, let d = digit(position) {
                if digits < 3 { millis = millis * 10 + d }
                digits += 1
                position += 1
            }
            guard digits > 0 else { return nil }
            if digits < 3 { for _ in digits..<3 { millis *= 10 } }
        }
        guard position < count else { return nil }
        var offsetMinutes = 0
        switch text[position] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            position += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let sign = text[position] == UInt8(ascii: "-") ? -1 : 1
            guard position + 6 == count, let oh = number(position + 1, 2), text[position + 3] == UInt8(ascii: ":"),
                let om = number(position + 4, 2), oh <= 23, om <= 59
            else { return nil }
            offsetMinutes = sign * (oh * 60 + om)
            position += 6
        default:
            return nil
        }
        guard position == count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + min(second, 59)) - Int64(offsetMinutes * 60)
        return seconds * 1000 + Int64(millis)
    }

    /// Parses an RFC 3339 string.
    public static func parse(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
    }

    /// Formats epoch milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    public static func format(_ millis: Int64) -> String {
        let fields = Fields(millis)
        guard fields.fitsFourDigits else {
            func pad(_ value: Int, _ width: Int) -> String {
                let text = String(value)
                return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
            }
            return "\(pad(fields.year, 4))-\(pad(fields.month, 2))-\(pad(fields.day, 2))T\(pad(fields.hour, 2)):\(pad(fields.minute, 2)):"
                + "\(pad(fields.second, 2)).\(pad(fields.millisecond, 3))Z"
        }
        // Every supported time: 24 ASCII bytes written in place (answers format one per row).
        return String(unsafeUninitializedCapacity: 24) { buffer in
            fields.write(into: buffer)
            return 24
        }
    }

    /// Appends ``format(_:)``'s text of `millis` to `output` as UTF-8, without building a string.
    public static func append(_ millis: Int64, to output: inout [UInt8]) {
        let fields = Fields(millis)
        guard fields.fitsFourDigits else {
            output.append(contentsOf: format(millis).utf8)
            return
        }
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: 24))
        output.withUnsafeMutableBufferPointer { buffer in fields.write(into: UnsafeMutableBufferPointer(rebasing: buffer[start..<(start + 24)])) }
    }

    /// The calendar fields of a time, UTC.
    private struct Fields {
        var year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millisecond = 0

        init(_ millis: Int64) {
            let (secondsTotal, ms) = Timestamp.floorDivide(millis, 1000)
            let (days, secondOfDay) = Timestamp.floorDivide(secondsTotal, 86_400)
            (year, month, day) = Timestamp.civilFromDays(Int(days))
            hour = Int(secondOfDay / 3600)
            minute = Int(secondOfDay / 60 % 60)
            second = Int(secondOfDay % 60)
            millisecond = Int(ms)
        }

        /// Whether the year takes four digits (every supported time does).
        var fitsFourDigits: Bool { (0...9999).contains(year) }

        /// Writes `YYYY-MM-DDTHH:MM:SS.mmmZ` (24 bytes).
        func write(into buffer: UnsafeMutableBufferPointer<UInt8>) {
            func put(_ value: Int, width: Int, at offset: Int) {
                var rest = value
                for index in stride(from: offset + width - 1, through: offset, by: -1) {
                    buffer[index] = UInt8(truncatingIfNeeded: 48 + rest % 10)
                    rest /= 10
                }
            }
            put(year, width: 4, at: 0)
            put(month, width: 2, at: 5)
            put(day, width: 2, at: 8)
            put(hour, width: 2, at: 11)
            put(minute, width: 2, at: 14)
            put(second, width: 2, at: 17)
            put(millisecond, width: 3, at: 20)
            buffer[4] = UInt8(ascii: "-")
            buffer[7] = UInt8(ascii: "-")
            buffer[10] = UInt8(ascii: "T")
            buffer[13] = UInt8(ascii: ":")
            buffer[16] = UInt8(ascii: ":")
            buffer[19] = UInt8(ascii: ".")
            buffer[23] = UInt8(ascii: "Z")
        }
    }

    /// The UTC calendar date (year, month 1–12, day 1–31) of epoch milliseconds.
    public static func civil(_ millis: Int64) -> (year: Int, month: Int, day: Int) {
        let (seconds, _) = floorDivide(millis, 1000)
        let (days, _) = floorDivide(seconds, 86_400)
        return civilFromDays(Int(days))
    }

    /// Milliseconds since the epoch, now.
    public static func now() -> Int64 {
        let nanos = WallClock.wallNanoseconds()
        return nanos / 1_000_000
    }

    private static func floorDivide(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        let q = a / b, r = a % b
        return r < 0 ? (q - 1, r + b) : (q, r)
    }

    private static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    private static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    // Howard Hinnant's days_from_civil / civil_from_days.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
