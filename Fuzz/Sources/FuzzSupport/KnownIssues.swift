import Aggregation
import Foundation

/// Bugs already known and being fixed, which the targets can step around so that a fuzzing run
/// looks for new ones instead of stopping at the same crash every time.
///
/// Off by default: set `TANDEM_FUZZ_SKIP_KNOWN=1` to turn it on. Each predicate answers whether
/// an input would hit one known bug *and* skipping is on. Delete a predicate (and its call) once
/// the fix has landed: from then on the target must survive the input.
public enum KnownIssues {
    /// Whether known bugs are stepped around (`TANDEM_FUZZ_SKIP_KNOWN=1`).
    public static let skip = ProcessInfo.processInfo.environment["TANDEM_FUZZ_SKIP_KNOWN"] == "1"

    /// `CompiledView.floor` overflows for event times within a bucket (at most 1 day) of
    /// `Int64.min`.
    public static func bucketFloorOverflows(_ eventTime: Int64) -> Bool {
        skip && eventTime < Int64.min + 2 * 86_400_000
    }

    /// `QuantileSketch.index` converts an infinite or huge ratio to `Int32` when the relative
    /// accuracy is close to 0.
    public static func quantileAccuracyTooSmall(_ aggregates: [(name: String, spec: AggregateSpec)]) -> Bool {
        skip && aggregates.contains { $0.spec.function == .quantile && $0.spec.relativeAccuracy < 1e-6 }
    }

    /// `CompiledFilter.convert` converts a number literal of 9.2e18 or more to `Int64` for a
    /// timestamp field.
    public static func filterLiteralTooLarge(_ filter: Filter?) -> Bool {
        guard skip, let filter else { return false }
        switch filter {
        case .compare(_, _, let values):
            return values.contains { value in
                if case .number(let number) = value { return !(abs(number) < 9.2e18) }
                return false
            }
        case .and(let all), .or(let all): return all.contains { filterLiteralTooLarge($0) }
        case .not(let inner): return filterLiteralTooLarge(inner)
        }
    }

    /// `CompiledView.rollup` loops once per window a bucket falls in, and overflows its window
    /// arithmetic, when a hopping window is huge compared with its advance or with the time range.
    public static func hoppingWindowTooLarge(_ window: WindowShape) -> Bool {
        guard skip, case .hopping(let size, let advance) = window else { return false }
        return size > 1 << 60 || advance > 1 << 60 || size / max(advance, 1) > 100_000
    }

    /// `AggregateState.merge` adds the counts of `count` and `avg` states without overflow checks.
    public static func countMergeOverflows(_ a: AggregateState, _ b: AggregateState) -> Bool {
        guard skip else { return false }
        switch (a, b) {
        case (.count(let x), .count(let y)), (.avg(_, let x), .avg(_, let y)): return x.addingReportingOverflow(y).overflow
        default: return false
        }
    }
}
