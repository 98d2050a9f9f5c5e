// Intentionally empty: SwiftPM needs a source file for the module that exports CLibFuzzer.h. The
// function it declares comes from libFuzzer, linked by `-sanitize=fuzzer`.
