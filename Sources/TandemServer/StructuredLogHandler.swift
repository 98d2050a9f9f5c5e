import Events
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Writes log lines to standard error as logfmt or JSON (`tandem serve --log-format`), one
/// line per event, with the time, level, label, message and every metadata key, so that a log
/// pipeline can parse them without patterns.
public struct StructuredLogHandler: LogHandler {
    /// The line format.
    public enum Format: String, Sendable, CaseIterable {
        /// `time=... level=info logger=tandem msg="..." key=value` (strings with spaces quoted).
        case logfmt
        /// One JSON object per line: `time`, `level`, `logger`, `msg`, then the metadata.
        case json
    }

    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let format: Format
    private let write: @Sendable (String) -> Void

    /// Creates a handler for `label`; lines go to `write` (standard error by default).
    public init(label: String, format: Format, level: Logger.Level, write: @escaping @Sendable (String) -> Void = StructuredLogHandler.standardError)
    {
        self.label = label
        self.format = format
        self.logLevel = level
        self.write = write
    }

    private static let errorLock = Mutex(())

    /// Writes a line to standard error, whole.
    public static let standardError: @Sendable (String) -> Void = { line in
        errorLock.withLock { _ in
            var bytes = Array(line.utf8)
            bytes.append(UInt8(ascii: "\n"))
            // One write(2) per line: lines of concurrent tasks never interleave.
            _ = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
        }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        var fields: [(String, String)] = [
            ("time", Timestamp.format(Timestamp.now())), ("level", event.level.rawValue), ("logger", label), ("msg", "\(event.message)"),
        ]
        if merged["source"] == nil { fields.append(("source", event.source)) }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) { fields.append((key, "\(value)")) }
        write(Self.line(fields, format: format))
    }

    /// One line of `fields` in `format`.
    static func line(_ fields: [(String, String)], format: Format) -> String {
        switch format {
        case .logfmt:
            return fields.map { key, value in key + "=" + logfmtValue(value) }.joined(separator: " ")
        case .json:
            return "{" + fields.map { key, value in quoted(key) + ":" + quoted(value) }.joined(separator: ",") + "}"
        }
    }

    static func logfmtValue(_ value: String) -> String {
        let plain = !value.isEmpty && value.unicodeScalars.allSatisfy { $0.value > 0x20 && $0 != "\"" && $0 != "=" && $0 != "\\" && $0.value != 0x7F }
        return plain ? value : quoted(value)
    }

    /// `value` in double quotes, with quotes, backslashes and control characters escaped as JSON
    /// escapes them (which logfmt readers accept too).
    static func quoted(_ value: String) -> String {
        var quoted = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            case "\n": quoted += "\\n"
            case "\r": quoted += "\\r"
            case "\t": quoted += "\\t"
            case _ where scalar.value < 0x20: quoted += String(format: "\\u%04x", scalar.value)
            default: quoted.unicodeScalars.append(scalar)
            }
        }
        return quoted + "\""
    }
}
