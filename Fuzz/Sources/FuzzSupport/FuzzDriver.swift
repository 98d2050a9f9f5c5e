import CLibFuzzer
import Foundation

/// Runs libFuzzer with this process's command line on `testOneInput`, then exits.
///
/// Each fuzz target's `@main` calls this: SwiftPM renames a Swift executable's `main`, so
/// libFuzzer's own `main` cannot be the entry point (see CLibFuzzer.h).
public func runLibFuzzer(_ testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
}
