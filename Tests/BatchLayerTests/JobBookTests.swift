import Foundation
import Testing

@testable import BatchLayer

/// The live jobs of a process, without a database: one job per view, progress, and the overlay of
/// live state on the history.
@Suite("Job book")
struct JobBookTests {
    static func job(_ id: Int64, view: String = "v") -> Job {
        Job(id: id, view: view, mode: .full, trigger: "api", state: .queued, createdAt: Date(timeIntervalSince1970: 0))
    }

    @Test func aViewHasOneJobAtATime() {
        var book = JobBook()
        let first = book.claim("v")
        let second = book.claim("v")
        let other = book.claim("w")
        #expect(first && !second && other)
        #expect(book.isActive("v"))
        book.release("v")
        #expect(!book.isActive("v"))
        let again = book.claim("v")
        #expect(again)
    }

    @Test func progressAndUpdatesApplyToLiveJobsOnly() {
        var book = JobBook()
        book.queued(Self.job(1))
        book.progress(1, scanned: 10, skipped: 1)
        book.progress(1, scanned: 5, skipped: 0)
        book.progress(2, scanned: 99, skipped: 9)
        let running = book.update(1) { $0.state = .running }
        #expect(running?.state == .running)
        #expect(running?.scanned == 15)
        #expect(running?.skipped == 1)
        let unknown = book.update(2) { $0.state = .running }
        #expect(unknown == nil)
    }

    @Test func liveJobsOverlayTheHistory() {
        var book = JobBook()
        book.queued(Self.job(2))
        _ = book.update(2) { $0.scanned = 42 }
        let merged = book.overlay([Self.job(3), Self.job(2), Self.job(1)])
        #expect(merged.map(\.id) == [3, 2, 1])
        #expect(merged.map(\.scanned) == [0, 42, 0])
    }
}
