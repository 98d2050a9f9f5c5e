/// Validation of the names that users give to streams, fields and views.
public enum Names {
    /// The longest name allowed, in bytes.
    public static let maxLength = 63

    /// Whether `name` matches `[a-z][a-z0-9_]{0,62}`.
    ///
    /// Such names are safe as file names, URL path segments and (quoted) SQL identifiers.
    public static func isValid(_ name: String) -> Bool {
        let bytes = name.utf8
        guard let first = bytes.first, bytes.count <= maxLength, first >= UInt8(ascii: "a"), first <= UInt8(ascii: "z")
        else { return false }
        return bytes.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "_")
        }
    }
}
