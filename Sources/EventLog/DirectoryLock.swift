import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An exclusive `flock` on a directory's `LOCK` file, so that two processes never write one log.
///
/// The lock belongs to the open file: the kernel drops it when the process dies, however it dies,
/// so a crash never leaves a stale lock. The file holds the owner's pid, for the message that a
/// second process gets.
final class DirectoryLock: Sendable {
    private let fd: Mutex<Int32>
    let path: String

    init(directory: String) throws {
        path = directory + "/LOCK"
        let fd = try FileIO.open(path, flags: O_RDWR | O_CREAT, mode: 0o644)
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            let error = FileIO.fail("flock", path)
            let owner = (try? FileIO.readFile(path)).map { String(decoding: $0, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? "" }
            close(fd)
            guard busy else { throw error }
            throw LogError(
                .locked,
                "the log directory is in use by another process\(owner.map { $0.isEmpty ? "" : " (pid \($0))" } ?? ""); "
                    + "stop it first, or give this one another data directory",
                path: directory)
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        self.fd = Mutex(fd)
    }

    /// Releases the lock (idempotent).
    func release() {
        fd.withLock { fd in
            guard fd >= 0 else { return }
            close(fd)
            fd = -1
        }
    }

    deinit { release() }
}
