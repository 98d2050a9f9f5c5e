import ArgumentParser
import EventLog
import TandemServer

/// `tandem log`: operations on the embedded log's files, with the server stopped.
struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log", abstract: "Inspect and repair the embedded log's files (with the server stopped).",
        subcommands: [Repair.self])

    /// `tandem log repair`: shows where each partition's records stop being trustworthy, and with
    /// `--apply` moves everything from there on aside so that the server starts again.
    struct Repair: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Find damaged records in the log and, with --apply, move them and everything after them aside.",
            discussion: """
                The server refuses to start when a record is damaged and valid records follow it, since dropping \
                them could lose acknowledged events. This command reads every record of every segment and reports, \
                per partition, the damaged file and byte and what a repair would give up. With --apply it copies the \
                damaged tail and moves the later segments into .quarantine/<time>/ under the log directory, then cuts \
                the segment back at the damage. Nothing is deleted. Run a full recompute of each view afterwards.
                """)

        @OptionGroup var files: ConfigurationOptions

        @Flag(name: .long, help: "Move the damaged data aside (default: only report).")
        var apply = false

        func run() throws {
            let configuration = try files.load()
            let directory = configuration.dataDirectory + "/log"
            let damage = try LogRepair.inspect(directory: directory)
            if damage.isEmpty {
                print("no damage found in \(directory)")
                return
            }
            for item in damage {
                print("\(item.topic) partition \(item.partition): \(item.file) is damaged at byte \(item.position): \(item.reason)")
                print("  a repair gives up offsets from \(item.firstOffsetLost): \(item.bytesAfter) bytes of this file", terminator: "")
                if let next = item.nextValidRecord {
                    print(", including valid records from offset \(next.offset) (byte \(next.position))", terminator: "")
                }
                if !item.laterSegments.isEmpty {
                    print(", and \(item.laterSegments.count) later segment(s) of \(item.laterSegmentBytes) bytes", terminator: "")
                }
                print(item.losesRecords ? "" : " (a torn tail: no valid record follows)")
            }
            guard apply else {
                print("nothing changed; run again with --apply to move the damaged data aside")
                throw ExitCode(2)
            }
            let quarantine = try LogRepair.repair(directory: directory, damage: damage)
            print("moved the damaged data to \(quarantine); the log opens again. Run a full recompute of every view of these streams.")
        }
    }
}
