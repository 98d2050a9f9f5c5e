import Events

/// When a view is recomputed: `every DURATION` or a five-field cron expression
/// (`minute hour day-of-month month day-of-week`, UTC; `*`, `a-b`, `a,b`, `*/n`, `a-b/n`).
public enum Schedule: Sendable, Equatable {
    case every(milliseconds: Int64)
    case cron(minutes: Set<Int>, hours: Set<Int>, days: Set<Int>, months: Set<Int>, weekdays: Set<Int>, anyDay: Bool, anyWeekday: Bool)

    /// A schedule that cannot be parsed.
    public struct ParseError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Parses `every 1h` or a cron expression.
    public static func parse(_ text: String) throws(ParseError) -> Schedule {
        let trimmed = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        if trimmed.first == "every" {
            guard trimmed.count == 2, let millis = DurationText.milliseconds(trimmed[1]), millis >= 1000 else {
                throw ParseError(description: "schedule \"\(text)\": write every DURATION with at least 1s, such as every 1h")
            }
            return .every(milliseconds: millis)
        }
        guard trimmed.count == 5 else {
            throw ParseError(description: "schedule \"\(text)\" is neither every DURATION nor a five-field cron expression")
        }
        let ranges = [0...59, 0...23, 1...31, 1...12, 0...7]
        var fields: [Set<Int>] = []
        for (field, range) in zip(trimmed, ranges) {
            var values = Set<Int>()
            for part in field.split(separator: ",") {
                let pieces = part.split(separator: "/", maxSplits: 1)
                let step = pieces.count == 2 ? Int(pieces[1]) : 1
                guard let step, step > 0 else { throw ParseError(description: "schedule \"\(text)\": bad step in \"\(part)\"") }
                var low = range.lowerBound, high = range.upperBound
                if pieces[0] != "*" {
                    let bounds = pieces[0].split(separator: "-", maxSplits: 1).map { Int($0) }
                    guard let first = bounds.first, let a = first, bounds.allSatisfy({ $0 != nil }) else {
                        throw ParseError(description: "schedule \"\(text)\": bad field \"\(field)\"")
                    }
                    low = a
                    high = bounds.count == 2 ? bounds[1]! : (pieces.count == 2 ? range.upperBound : a)
                }
                guard range.contains(low), range.contains(high), low <= high else {
                    throw ParseError(description: "schedule \"\(text)\": \"\(field)\" is outside \(range)")
                }
                values.formUnion(stride(from: low, through: high, by: step))
            }
            fields.append(values)
        }
        var weekdays = fields[4]
        if weekdays.remove(7) != nil { weekdays.insert(0) }
        // Only a day-of-month restriction can make an expression impossible (`0 0 30 2 *`): refuse
        // it here rather than search for a time that never comes.
        let anyDay = trimmed[2] == "*", anyWeekday = trimmed[4] == "*"
        if !anyDay && anyWeekday {
            let longest = [1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31]
            guard fields[3].contains(where: { month in fields[2].contains { $0 <= longest[month]! } }) else {
                throw ParseError(description: "schedule \"\(text)\" never fires: no month it names has the days it names")
            }
        }
        return .cron(
            minutes: fields[0], hours: fields[1], days: fields[2], months: fields[3], weekdays: weekdays,
            anyDay: trimmed[2] == "*", anyWeekday: trimmed[4] == "*")
    }

    /// The first time strictly after `time` (epoch ms) at which the schedule fires, or `Int64.max`
    /// when it never does.
    ///
    /// A cron expression is searched a day at a time (at most nine years of days: the longest wait,
    /// for a 29 February across a century that is not leap), then within the day an hour and a
    /// minute at a time, so one call costs a few thousand steps at worst.
    public func next(after time: Int64) -> Int64 {
        switch self {
        case .every(let millis):
            let (product, overflow) = (time / millis + 1).multipliedReportingOverflow(by: millis)
            return overflow ? .max : product
        case .cron(let minutes, let hours, let days, let months, let weekdays, let anyDay, let anyWeekday):
            let firstMinute = time / 60_000 + 1
            var day = firstMinute / 1440
            let sortedHours = hours.sorted(), sortedMinutes = minutes.sorted()
            for _ in 0..<(9 * 366) {
                let dayStart = day * 86_400_000
                let (_, month, dayOfMonth) = Timestamp.civil(dayStart)
                let weekday = Int((day % 7 + 11) % 7)  // 1970-01-01 was a Thursday (4)
                let dayMatches: Bool =
                    if anyDay && anyWeekday { true } else if anyDay { weekdays.contains(weekday) } else if anyWeekday {
                        days.contains(dayOfMonth)
                    } else { days.contains(dayOfMonth) || weekdays.contains(weekday) }
                if months.contains(month) && dayMatches {
                    let earliest = max(0, firstMinute - day * 1440)
                    for hour in sortedHours where (hour + 1) * 60 > earliest {
                        for minute in sortedMinutes where hour * 60 + minute >= earliest {
                            return dayStart + Int64(hour * 60 + minute) * 60_000
                        }
                    }
                }
                day += 1
            }
            return .max
        }
    }
}
