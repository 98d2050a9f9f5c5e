/// The version this build reports.
public enum TandemVersion {
    /// The version string.
    public static let current = "0.1.0"
}
