import Testing

@testable import EventLog

@Suite("CRC-32C")
struct CRC32CTests {
    @Test("the check value of the standard test string, by both implementations")
    func checkValue() {
        let bytes = Array("123456789".utf8)
        bytes.withUnsafeBytes { raw in
            #expect(CRC32C.software(raw) == 0xE306_9283)
            #expect(CRC32C.checksum(raw) == 0xE306_9283)
        }
    }

    @Test("the CPU's instruction and the tables agree on every length, alignment and continuation")
    func hardwareMatchesSoftware() {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<1_100).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        bytes.withUnsafeBytes { raw in
            for start in 0..<9 {
                for count in [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 100, 1_000] {
                    let slice = UnsafeRawBufferPointer(rebasing: raw[start..<(start + count)])
                    #expect(CRC32C.checksum(slice) == CRC32C.software(slice), "start \(start), count \(count)")
                    let half = count / 2
                    let first = UnsafeRawBufferPointer(rebasing: raw[start..<(start + half)])
                    let second = UnsafeRawBufferPointer(rebasing: raw[(start + half)..<(start + count)])
                    #expect(CRC32C.checksum(second, continuing: CRC32C.checksum(first)) == CRC32C.software(slice))
                }
            }
        }
        // Where the instruction exists (every x86-64 machine Tandem runs on), it is the one used.
        #if arch(x86_64)
            #expect(CRC32C.hardware)
        #endif
    }
}
