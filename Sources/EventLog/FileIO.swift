#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The system calls through which the log changes files: the seam where tests inject disk faults
/// (a full disk, EIO on a write or a sync, short writes, a failed directory sync).
///
/// Each method behaves as the POSIX call it names: it returns what the call returns and, on
/// failure, sets `errno`. ``SystemFileSystem`` is the real one.
public protocol LogFileSystem: Sendable {
    /// `open(2)`, for segment and metadata files (the log adds `O_CLOEXEC`).
    func open(_ path: String, flags: Int32, mode: mode_t) -> Int32
    /// `pwrite(2)`: may write fewer bytes than asked.
    func pwrite(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int) -> Int
    /// `fdatasync(2)` of a data file.
    func fdatasync(_ fd: Int32) -> Int32
    /// `fsync(2)` of a directory, which makes new and renamed entries durable.
    func fsyncDirectory(_ fd: Int32) -> Int32
    /// `ftruncate(2)`.
    func ftruncate(_ fd: Int32, _ size: Int) -> Int32
}

/// The operating system's file calls.
public struct SystemFileSystem: LogFileSystem {
    /// Creates the system file system.
    public init() {}
    public func open(_ path: String, flags: Int32, mode: mode_t) -> Int32 { Glibc.open(path, flags, mode) }
    public func pwrite(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int) -> Int {
        Glibc.pwrite(fd, bytes.baseAddress, bytes.count, off_t(offset))
    }
    public func fdatasync(_ fd: Int32) -> Int32 {
        #if canImport(Glibc)
            Glibc.fdatasync(fd)
        #else
            fsync(fd)
        #endif
    }
    public func fsyncDirectory(_ fd: Int32) -> Int32 { fsync(fd) }
    public func ftruncate(_ fd: Int32, _ size: Int) -> Int32 { Glibc.ftruncate(fd, off_t(size)) }
}

/// Thin, throwing wrappers over the POSIX calls the log needs. The log does its own I/O so that it
/// controls exactly when data reaches the disk. Calls that change files go through a
/// ``LogFileSystem``.
enum FileIO {
    static let system: any LogFileSystem = SystemFileSystem()

    /// The error for the `errno` a call just set: `disk_full` for ENOSPC and EDQUOT, `log_io` otherwise.
    static func fail(_ what: String, _ path: String) -> LogError {
        let code = errno
        let full = code == ENOSPC || code == EDQUOT
        return LogError(full ? .diskFull : .io, "\(what) failed: \(String(cString: strerror(code)))", path: path)
    }

    static func open(_ path: String, flags: Int32, mode: mode_t = 0o644, using fs: any LogFileSystem = system) throws -> Int32 {
        let fd = fs.open(path, flags: flags | O_CLOEXEC, mode: mode)
        guard fd >= 0 else { throw fail("open", path) }
        return fd
    }

    static func size(_ fd: Int32, path: String) throws -> Int {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw fail("fstat", path) }
        return Int(info.st_size)
    }

    /// Reads exactly `count` bytes at `offset` (fewer only at end of file).
    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int, path: String) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw fail("pread", path)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Writes all of `bytes` at `offset`, continuing after short writes.
    static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, path: String, using fs: any LogFileSystem = system) throws {
        var done = 0
        while done < bytes.count {
            let n = fs.pwrite(fd, UnsafeRawBufferPointer(rebasing: bytes[done...]), at: offset + done)
            if n < 0 {
                if errno == EINTR { continue }
                throw fail("pwrite", path)
            }
            // A regular file answers 0 only when it cannot take more (some file systems do so
            // instead of ENOSPC): looping would spin.
            if n == 0 { throw LogError(.diskFull, "pwrite wrote nothing: no space left on the device", path: path) }
            done += n
        }
    }

    static func sync(_ fd: Int32, path: String, using fs: any LogFileSystem = system) throws {
        guard fs.fdatasync(fd) == 0 else { throw fail("fdatasync", path) }
    }

    static func truncate(_ fd: Int32, to size: Int, path: String, using fs: any LogFileSystem = system) throws {
        guard fs.ftruncate(fd, size) == 0 else { throw fail("ftruncate", path) }
    }

    /// Makes a directory's entries (new or renamed files) durable.
    static func syncDirectory(_ path: String, using fs: any LogFileSystem = system) throws {
        let fd = try open(path, flags: O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        guard fs.fsyncDirectory(fd) == 0 else { throw fail("fsync", path) }
    }

    static func makeDirectories(_ path: String) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST { throw fail("mkdir", current) }
        }
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// The names in a directory, without `.` and `..`.
    static func list(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw fail("opendir", path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    static func readFile(_ path: String) throws -> [UInt8] {
        let fd = try open(path, flags: O_RDONLY)
        defer { close(fd) }
        let count = try size(fd, path: path)
        var bytes = [UInt8](repeating: 0, count: count)
        let n = try bytes.withUnsafeMutableBytes { (buffer) throws -> Int in try read(fd, into: buffer, at: 0, path: path) }
        return Array(bytes[0..<n])
    }

    /// Replaces a file's content atomically and durably (write a temporary file, sync, rename).
    static func writeFileAtomically(_ path: String, _ bytes: [UInt8], using fs: any LogFileSystem = system) throws {
        let temporary = path + ".tmp"
        let fd = try open(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC, using: fs)
        do {
            try bytes.withUnsafeBytes { (buffer) throws in try write(fd, buffer, at: 0, path: temporary, using: fs) }
            try sync(fd, path: temporary, using: fs)
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        close(fd)
        guard rename(temporary, path) == 0 else { throw fail("rename", path) }
        try syncDirectory(parent(of: path), using: fs)
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func remove(_ path: String) {
        unlink(path)
    }
}
