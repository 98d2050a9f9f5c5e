/// The bytes libFuzzer hands to `LLVMFuzzerTestOneInput`, as a buffer (empty when there are none).
public func fuzzInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> UnsafeRawBufferPointer {
    guard let start, count > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
    return UnsafeRawBufferPointer(start: start, count: count)
}

/// Traps with `message` when `condition` is false: a broken invariant is a finding.
///
/// Unlike `precondition`, the message survives optimised builds, so the crash report says what
/// went wrong.
@inline(__always)
public func fuzzCheck(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String, file: StaticString = #file, line: UInt = #line) {
    if !condition() { fatalError("fuzz invariant broken: \(message())", file: file, line: line) }
}
