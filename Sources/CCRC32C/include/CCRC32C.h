#ifndef TANDEM_CCRC32C_H
#define TANDEM_CCRC32C_H

#include <stddef.h>
#include <stdint.h>

/// Nonzero when this CPU has a CRC-32C instruction (SSE 4.2 on x86-64, the CRC extension on
/// 64-bit Arm) that `tandem_crc32c_update` uses.
int tandem_crc32c_hardware_available(void);

/// Updates a CRC-32C register (already inverted by the caller) with `count` bytes, by the CPU's
/// instruction. Call only when `tandem_crc32c_hardware_available` says so.
uint32_t tandem_crc32c_update(uint32_t crc, const void *bytes, size_t count);

#endif
