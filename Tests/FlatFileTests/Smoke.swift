import Testing
@testable import FlatFile
@Test func smoke() throws { }
