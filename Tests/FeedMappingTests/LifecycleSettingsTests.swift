import Testing

@testable import FeedMapping

@Suite("Mapping lifecycle: the promotion bar and the retirement quiet period")
struct LifecycleSettingsTests {
    @Test("defaults: 3 files at 99.9 %, a 30-day parity window, no legacy folder, 30 quiet days")
    func defaults() throws {
        let settings = try loadMapping(baseMapping).lifecycle
        #expect(settings.promotionFiles == 3 && settings.promotionAgreement == 99.9 && settings.parityWindowDays == 30)
        #expect(settings.legacyFolder == nil && settings.quietPeriodDays == 30)
    }

    @Test("the mapping sets them")
    func declared() throws {
        let text =
            baseMapping
            + "promotion: {files: 5, agreement: 99.5, parityWindowDays: 14}\nretirement: {legacyFolder: ewc/legacy, quietPeriodDays: 45}\n"
        let settings = try loadMapping(text).lifecycle
        #expect(settings.promotionFiles == 5 && settings.promotionAgreement == 99.5 && settings.parityWindowDays == 14)
        #expect(settings.legacyFolder == "ewc/legacy" && settings.quietPeriodDays == 45)
    }

    @Test(
        "a wrong value is located",
        arguments: [
            ("promotion: {files: 0}", "promotion.files must be at least 1"),
            ("promotion: {agreement: 101}", "promotion.agreement must be a percentage"),
            ("promotion: {agreement: most}", "promotion.agreement must be a percentage"),
            ("promotion: {fles: 3}", "unknown key 'fles'"),
            ("retirement: {quietPeriodDays: 0}", "retirement.quietPeriodDays must be at least 1"),
            ("retirement: {legacyFolder: [a, b]}", "retirement.legacyFolder must be text"),
        ])
    func located(_ entry: String, _ words: String) throws {
        let text = baseMapping + entry + "\n"
        let error = try #require(mappingError(text))
        #expect(error.line == line(of: entry, in: text), "\(error)")
        #expect(error.message.contains(words), "\(error.message)")
    }
}
