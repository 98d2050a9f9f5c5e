import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An exclusive lock on a directory's `LOCK` file, so that two processes never write one log (or,
/// with the Kafka backend, never share one data directory).
///
/// A POSIX record lock (`fcntl(F_SETLK)`), which belongs to the process: the kernel drops it when
/// the process dies, however it dies, so a crash never leaves a stale lock; a child process never
/// inherits it (a `flock` would be held by a child between its fork and exec, and a test that
/// reopens a log while other tests spawn processes would find it taken). Record locks do not
/// exclude a second open in the same process, so the process also keeps the set of directories it
/// has locked. The file holds the owner's pid, and `F_GETLK` names the holder.
public final class DirectoryLock: Sendable {
    private static let held = Mutex<Set<String>>([])
    private let fd: Mutex<Int32>
    private let key: String
    /// The lock file.
    public let path: String

    /// Takes the lock, or throws `log_locked` naming the process that holds it.
    public init(directory: String) throws {
        path = directory + "/LOCK"
        var resolved = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let key = realpath(directory, &resolved) != nil ? String(cString: resolved) : directory
        self.key = key
        func locked(_ owner: String) -> LogError {
            LogError(
                .locked, "the directory is in use by \(owner); stop it first, or give this one another data directory", path: directory)
        }
        guard Self.held.withLock({ $0.insert(key).inserted }) else { throw locked("this process (pid \(getpid()))") }
        let fd: Int32
        do {
            fd = try FileIO.open(path, flags: O_RDWR | O_CREAT, mode: 0o644)
        } catch {
            Self.held.withLock { _ = $0.remove(key) }
            throw error
        }
        var request = Glibc.flock()
        request.l_type = Int16(F_WRLCK)
        request.l_whence = Int16(SEEK_SET)
        guard fcntl(fd, F_SETLK, &request) == 0 else {
            let busy = errno == EACCES || errno == EAGAIN
            let error = FileIO.fail("fcntl(F_SETLK)", path)
            var holder = Glibc.flock()
            holder.l_type = Int16(F_WRLCK)
            holder.l_whence = Int16(SEEK_SET)
            let pid = fcntl(fd, F_GETLK, &holder) == 0 && holder.l_type != Int16(F_UNLCK) ? holder.l_pid : 0
            close(fd)
            Self.held.withLock { _ = $0.remove(key) }
            guard busy else { throw error }
            throw locked(pid > 0 ? "another process (pid \(pid))" : "another process")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        self.fd = Mutex(fd)
    }

    /// Releases the lock (idempotent).
    /// Releases the lock (also done when the object goes away, and by the kernel when the process ends).
    public func release() {
        fd.withLock { fd in
            guard fd >= 0 else { return }
            close(fd)
            fd = -1
            Self.held.withLock { _ = $0.remove(key) }
        }
    }

    deinit { release() }
}
