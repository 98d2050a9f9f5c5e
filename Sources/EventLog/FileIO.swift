#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Thin, throwing wrappers over the POSIX calls the log needs. The log does its own I/O so that it
/// controls exactly when data reaches the disk.
enum FileIO {
    static func fail(_ what: String, _ path: String) -> LogError {
        LogError(.io, "\(what) failed: \(String(cString: strerror(errno)))", path: path)
    }

    static func open(_ path: String, flags: Int32, mode: mode_t = 0o644) throws -> Int32 {
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
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

    static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, path: String) throws {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw fail("pwrite", path)
            }
            done += n
        }
    }

    static func sync(_ fd: Int32, path: String) throws {
        #if canImport(Glibc)
            guard fdatasync(fd) == 0 else { throw fail("fdatasync", path) }
        #else
            guard fsync(fd) == 0 else { throw fail("fsync", path) }
        #endif
    }

    static func truncate(_ fd: Int32, to size: Int, path: String) throws {
        guard ftruncate(fd, off_t(size)) == 0 else { throw fail("ftruncate", path) }
    }

    /// Makes a directory's entries (new or renamed files) durable.
    static func syncDirectory(_ path: String) throws {
        let fd = try open(path, flags: O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw fail("fsync", path) }
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
    static func writeFileAtomically(_ path: String, _ bytes: [UInt8]) throws {
        let temporary = path + ".tmp"
        let fd = try open(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
        do {
            try bytes.withUnsafeBytes { (buffer) throws in try write(fd, buffer, at: 0, path: temporary) }
            try sync(fd, path: temporary)
        } catch {
            close(fd)
            throw error
        }
        close(fd)
        guard rename(temporary, path) == 0 else { throw fail("rename", path) }
        try syncDirectory(parent(of: path))
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func remove(_ path: String) {
        unlink(path)
    }
}
