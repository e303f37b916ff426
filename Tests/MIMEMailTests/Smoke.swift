import Testing
@testable import MIMEMail
@Test func smoke() throws { }
