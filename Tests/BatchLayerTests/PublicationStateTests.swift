import Testing

@testable import BatchLayer

/// The publication and pin logic of the batch layer, without a database: which version a query
/// pins, and when a retirement waiting for older readers may go ahead.
@Suite("Publication state")
struct PublicationStateTests {
    typealias State = PublicationState<String>

    static func version(_ id: Int64, view: String = "v", definition: String = "d") -> PublishedVersion {
        PublishedVersion(view: view, id: id, cut: [id], table: "t\(id)", definition: definition)
    }

    @Test func aQueryPinsThePublicationOfItsDefinition() {
        var state = State()
        let r1 = state.pin(view: "v", definition: "d")
        #expect(r1 == nil, "nothing published: the speed-only state (id 0)")
        state.publish(Self.version(1))
        let r2 = state.pin(view: "v", definition: "d")
        #expect(r2 == Self.version(1))
        let r3 = state.pin(view: "v", definition: "other")
        #expect(r3 == nil, "a version of a replaced definition is not read")
        #expect(state.pins["v"] == [0: 2, 1: 1])
        state.forget(view: "v")
        #expect(state.publication(view: "v", definition: "d") == nil)
    }

    @Test func aRetirementWithNoOlderReaderGoesAheadAtOnce() {
        var state = State()
        state.publish(Self.version(2))
        _ = state.pin(view: "v", definition: "d")  // reads version 2, the one kept
        let id = state.makeWaitID()
        let r4 = state.wait(id, view: "v", keeping: 2, waiter: "retire 2")
        #expect(r4)
    }

    @Test func theLastUnpinOfAnOlderVersionResumesTheRetirement() {
        var state = State()
        state.publish(Self.version(1))
        _ = state.pin(view: "v", definition: "d")
        _ = state.pin(view: "v", definition: "d")
        _ = state.pin(view: "w", definition: "d")  // another view's reader never holds v back
        state.publish(Self.version(2))
        let id = state.makeWaitID()
        let r5 = state.wait(id, view: "v", keeping: 2, waiter: "retire 2")
        #expect(!r5)
        _ = state.pin(view: "v", definition: "d")  // a new query reads version 2: no obstacle
        let r6 = state.unpin(1, view: "v")
        #expect(r6.isEmpty, "one reader of version 1 is left")
        let r7 = state.unpin(0, view: "w")
        #expect(r7.isEmpty)
        let r8 = state.unpin(1, view: "v")
        #expect(r8 == ["retire 2"])
        let r9 = state.unpin(2, view: "v")
        #expect(r9.isEmpty, "resumed once only")
        #expect(state.pins["v"] == [:])
    }

    @Test func anUnpinWithoutAPinChangesNothing() {
        var state = State()
        let r10 = state.unpin(7, view: "v")
        #expect(r10.isEmpty)
        #expect(state.pins["v"] == nil)
    }

    @Test func cancellingAWaitHandsBackItsWaiterOnce() {
        var state = State()
        _ = state.pin(view: "v", definition: "d")
        let id = state.makeWaitID()
        let r11 = state.wait(id, view: "v", keeping: 3, waiter: "retire 3")
        #expect(!r11)
        let r12 = state.cancel(id)
        #expect(r12 == "retire 3")
        let r13 = state.unpin(0, view: "v")
        #expect(r13.isEmpty)
    }

    @Test func aWaitCancelledBeforeItIsRegisteredGoesAhead() {
        var state = State()
        _ = state.pin(view: "v", definition: "d")
        let id = state.makeWaitID()
        let r14 = state.cancel(id)
        #expect(r14 == nil)
        let r15 = state.wait(id, view: "v", keeping: 3, waiter: "retire 3")
        #expect(r15, "a cancelled wait never blocks")
    }
}
