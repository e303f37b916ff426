import DQTModel
import Testing

private func withBytes<R>(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
    let bytes = ContiguousArray(text.utf8)
    return bytes.withUnsafeBufferPointer(body)
}

@Suite struct TRNTests {
    @Test func strictTRNIsSevenDigits() {
        #expect(TRN("0001234")?.digits == "0001234")
        #expect(TRN("123456") == nil)
        #expect(TRN("12345678") == nil)
        #expect(TRN("12a4567") == nil)
    }

    @Test func pensionsGenderDigitIsSplitOff() throws {
        let parsed = try withBytes("10000012") { TRN.parse($0, allowGenderDigit: true) }.get()
        #expect(parsed.trn.digits == "1000001")
        #expect(parsed.genderDigit == 2)
        #expect(withBytes("10000013") { TRN.parse($0, allowGenderDigit: true) } == .failure(.badGenderDigit))
        #expect(withBytes("10000012") { TRN.parse($0) } == .failure(.wrongLength(8)))
    }

    @Test func trimmedLeadingZerosArePaddedOnlyWhenAsked() throws {
        #expect(try withBytes("1234") { TRN.parse($0, padLeadingZeros: true) }.get().trn.digits == "0001234")
        #expect(withBytes("1234") { TRN.parse($0) } == .failure(.wrongLength(4)))
        #expect(withBytes("12 34") { TRN.parse($0, padLeadingZeros: true) } == .failure(.notDigits))
    }
}

@Suite struct NationalInsuranceNumberTests {
    @Test(arguments: [
        "AB123456C", "ab 12 34 56 c", "AB-123456-C", "QQ123456A", "SA123456A", "AS123456A", "AB123456F", "AB123456M", "AB123456U", "OA123456A",
    ])
    func accepted(_ text: String) {
        #expect(NationalInsuranceNumber(text) != nil)
    }

    @Test(arguments: [
        "BG123456A", "GB123456A", "KN123456A", "NK123456A", "NT123456A", "TN123456A", "ZZ123456A",
        "DA123456A", "AO123456A", "AD123456A", "UA123456A", "VA123456A", "AI123456A", "AB123456E", "AB12345C", "AB1234567C", "", "A1123456C",
    ])
    func refused(_ text: String) {
        #expect(NationalInsuranceNumber(text) == nil)
    }

    @Test func displayAndMasking() throws {
        let nino = try #require(NationalInsuranceNumber("ab123456c"))
        #expect(nino.normalized == "AB123456C")
        #expect(nino.displayForm == "AB 12 34 56 C")
        #expect("\(nino)" == "********C")
    }
}

@Suite struct DatePatternTests {
    let pivot = TwoDigitYearPivot(today: LocalDate(year: 2026, month: 11, day: 21)!)

    func parse(_ layout: String, _ text: String) -> String? {
        let pattern = DatePattern(validating: layout)!
        return withBytes(text) { pattern.parse($0, pivot: pivot) }?.description
    }

    @Test func everyLegacyLayout() {
        #expect(parse("yyyyMMdd", "19800229") == "1980-02-29")
        #expect(parse("dd/MM/yyyy", "01/09/2021") == "2021-09-01")
        #expect(parse("d/M/yyyy", "1/9/2021") == "2021-09-01")
        #expect(parse("d/M/yyyy", "01/09/2021") == "2021-09-01")
        #expect(parse("yyyy-MM-dd HH:mm:ss.fff", "2019-09-01 00:00:00.000") == "2019-09-01")
        #expect(parse("ddMMyy*", "150385*") == "1985-03-15")
    }

    @Test func impossibleOrMalformedDatesAreRefused() {
        #expect(parse("dd/MM/yyyy", "31/02/1980") == nil)
        #expect(parse("yyyyMMdd", "19810229") == nil)
        #expect(parse("dd/MM/yyyy", "1/9/2021") == nil)
        #expect(parse("yyyy-MM-dd HH:mm:ss.fff", "2019-09-01 25:00:00.000") == nil)
        #expect(parse("dd/MM/yyyy", "01/09/2021x") == nil)
        #expect(DatePattern(validating: "dd/QQ/yyyy") == nil)
        #expect(DatePattern(validating: "dd/MM") == nil)
    }

    @Test func twoDigitYearsPivotIntoThePast() {
        #expect(parse("ddMMyy", "211126") == "2026-11-21")
        #expect(parse("ddMMyy", "221126") == "1926-11-22")
        #expect(parse("ddMMyy", "010100") == "2000-01-01")
        #expect(parse("ddMMyy", "150385") == "1985-03-15")
        let noPivot = DatePattern(validating: "ddMMyy")!
        #expect(withBytes("150385") { noPivot.parse($0, pivot: nil) } == nil)
    }
}

@Suite struct JSONValueTests {
    @Test func keysKeepTheirOrderAndStringsAreEscaped() {
        let value = JSONValue.object([("b", .int(1)), ("a", .string("Siân \"Ŵ\"\n\u{1}")), ("c", .null), ("d", .number("12.50"))])
        #expect(value.serialized == #"{"b":1,"a":"Siân \"Ŵ\"\n\u0001","c":null,"d":12.50}"#)
    }
}

@Suite struct LocalDateTextTests {
    @Test func isoAndCompactFormsAreZeroPadded() {
        for (date, iso, compact) in [
            (LocalDate(year: 1, month: 2, day: 3)!, "0001-02-03", "00010203"),
            (LocalDate(year: 2024, month: 12, day: 31)!, "2024-12-31", "20241231"),
            (LocalDate(year: 9999, month: 1, day: 10)!, "9999-01-10", "99990110"),
        ] {
            #expect(date.description == iso)
            #expect(date.compact == compact)
            #expect(LocalDate(iso: iso) == date)
        }
    }
}
