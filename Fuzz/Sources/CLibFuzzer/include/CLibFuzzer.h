// libFuzzer's entry point for programs that have their own `main` (LLVM 11 and later).
//
// SwiftPM links a Swift executable with `main` renamed to `<Target>_main`, so libFuzzer's own
// `main` is never used: each fuzz target has a Swift `@main` that calls this instead.
#ifndef CLIBFUZZER_H
#define CLIBFUZZER_H

#include <stddef.h>
#include <stdint.h>

/// Parses libFuzzer's command line and runs `callback` on each input; returns the exit status.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
