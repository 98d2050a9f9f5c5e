import Events
import Foundation
import Testing

@Suite("JSON text")
struct JSONTextTests {
    @Test(
        "a string literal reads back as the same string",
        arguments: [
            "", "plain", "say \"hi\"", "back\\slash", "line\nbreak\r\ttab", "\u{01}\u{1F}\u{7F}", "é ✓ 🚀", "\"\u{301}combining after a quote",
            "\\", "\"", String(repeating: "long \"text\" ", count: 1000),
        ])
    func roundTrip(_ text: String) throws {
        var output = "prefix:"
        JSONText.appendString(text, to: &output)
        #expect(output.hasPrefix("prefix:\""))
        let literal = output.dropFirst("prefix:".count)
        #expect(try JSONDecoder().decode(String.self, from: Data(literal.utf8)) == text)
        #expect(!literal.dropFirst().dropLast().unicodeScalars.contains { $0.value < 0x20 }, "control characters are escaped")
        var fromSubstring = ""
        JSONText.appendString(("x" + text + "y").dropFirst().dropLast(), to: &fromSubstring)
        #expect(fromSubstring == String(literal))
    }
}
