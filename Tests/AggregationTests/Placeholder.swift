import Testing
@Test func aggregationPlaceholder() {}
