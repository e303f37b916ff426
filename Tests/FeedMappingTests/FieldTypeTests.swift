import DQTModel
import Testing

@testable import FeedMapping

@Suite("Field types: every legacy value a mapping can convert")
struct FieldTypeTests {
    @Test("TRN: seven digits, leading zeros kept")
    func trnStrict() {
        let type = FieldType.trn(allowGenderDigit: false, padLeadingZeros: false)
        #expect(type.convert("0001234") == .value(.trn(TRN("0001234")!), genderDigit: nil))
        #expect(type.convert("1000001") == .value(.trn(TRN("1000001")!), genderDigit: nil))
        #expect(type.convert("1234") == .failure(code: "type-error"), "no padding unless the mapping asks")
        #expect(type.convert("10000012") == .failure(code: "type-error"), "no gender digit unless the mapping asks")
        #expect(type.convert("10000O1") == .failure(code: "type-error"))
        #expect(type.convert("100 001") == .failure(code: "type-error"))
        #expect(type.convert("１０００００１") == .failure(code: "type-error"), "full-width digits are not digits")
    }

    @Test("TRN: the pensions gender digit")
    func trnGenderDigit() {
        let type = FieldType.trn(allowGenderDigit: true, padLeadingZeros: false)
        #expect(type.convert("10000011") == .value(.trn(TRN("1000001")!), genderDigit: 1))
        #expect(type.convert("00012342") == .value(.trn(TRN("0001234")!), genderDigit: 2))
        #expect(type.convert("10000013") == .failure(code: "type-error"), "3 is not a file gender code")
        #expect(type.convert("10000010") == .failure(code: "type-error"))
        #expect(type.convert("1000001") == .value(.trn(TRN("1000001")!), genderDigit: nil))
        #expect(type.convert("100000112") == .failure(code: "type-error"))
    }

    @Test("TRN: trimmed leading zeros padded back")
    func trnPadding() {
        let type = FieldType.trn(allowGenderDigit: false, padLeadingZeros: true)
        #expect(type.convert("1234") == .value(.trn(TRN("0001234")!), genderDigit: nil))
        #expect(type.convert("1") == .value(.trn(TRN("0000001")!), genderDigit: nil))
        #expect(type.convert("123456") == .value(.trn(TRN("0123456")!), genderDigit: nil))
        #expect(type.convert("0001234") == .value(.trn(TRN("0001234")!), genderDigit: nil))
        #expect(type.convert("12345678") == .failure(code: "type-error"))
        #expect(type.convert("12a4") == .failure(code: "type-error"))
    }

    @Test("NI number: normalised, prefixes and suffixes checked")
    func nino() {
        let type = FieldType.nationalInsuranceNumber
        func ok(_ text: String, _ normalized: String) {
            #expect(type.value(text) == .nationalInsuranceNumber(NationalInsuranceNumber(normalized)!), "\(text)")
        }
        ok("AB123456C", "AB123456C")
        ok("ab 12 34 56 c", "AB123456C")
        ok("AB-12-34-56-C", "AB123456C")
        ok("QQ123456F", "QQ123456F")  // pensions data: QQ prefix and F/M/U suffixes
        ok("JA123456M", "JA123456M")
        ok("JA123456U", "JA123456U")
        for bad in [
            "GB123456A", "BG123456A", "KN123456A", "NK123456A", "NT123456A", "TN123456A", "ZZ123456A",
            "DA123456A", "FA123456A", "IA123456A", "UA123456A", "VA123456A", "AO123456A", "AB123456E",
            "AB12345C", "AB1234567C", "A1123456C", "AB123456",
        ] {
            #expect(type.convert(bad) == .failure(code: "type-error"), "\(bad) must be refused")
        }
    }

    @Test("dates in every legacy layout")
    func legacyLayouts() throws {
        func type(_ layout: String) throws -> FieldType { .date(try #require(DatePattern(validating: layout)), DateBounds()) }
        #expect(try type("yyyyMMdd").value("19670204") == date("1967-02-04"))
        #expect(try type("dd/MM/yyyy").value("04/02/1967") == date("1967-02-04"))
        #expect(try type("dd/MM/yyyy").value("4/2/1967") == nil, "dd needs two digits")
        #expect(try type("d/M/yyyy").value("4/2/1967") == date("1967-02-04"))
        #expect(try type("d/M/yyyy").value("14/12/1967") == date("1967-12-14"))
        #expect(try type("yyyy-MM-dd HH:mm:ss.fff").value("2006-07-02 00:00:00.000") == date("2006-07-02"))
        #expect(try type("yyyy-MM-dd HH:mm:ss.fff").value("2006-07-02 24:00:00.000") == nil)
        #expect(try type("yyyy-MM-dd HH:mm:ss.fff").value("2006-07-02") == nil)
        #expect(try type("ddMMyy*").value("140467*") == date("1967-04-14"))
        #expect(try type("ddMMyy*").value("140467 ") == nil)
        // Impossible days.
        #expect(try type("dd/MM/yyyy").value("31/02/1980") == nil)
        #expect(try type("dd/MM/yyyy").value("29/02/1981") == nil)
        #expect(try type("dd/MM/yyyy").value("29/02/1980") == date("1980-02-29"))
        #expect(try type("dd/MM/yyyy").value("29/02/1900") == nil)
        #expect(try type("dd/MM/yyyy").value("29/02/2000") == date("2000-02-29"))
        #expect(try type("dd/MM/yyyy").value("00/01/2000") == nil)
        #expect(try type("dd/MM/yyyy").value("01/13/2000") == nil)
        #expect(try type("yyyyMMdd").value("2000011") == nil)
        #expect(try type("dd/MM/yyyy").convert("1980-02-03") == .failure(code: "type-error"))
    }

    @Test("two-digit years pivot so the date is not after the day of the check")
    func twoDigitYearPivot() throws {
        let type = FieldType.date(try #require(DatePattern(validating: "ddMMyy")), DateBounds())
        #expect(type.value("140467") == date("1967-04-14"))
        #expect(type.value("010100") == date("2000-01-01"))
        #expect(type.value("211126") == date("2026-11-21"), "today stays in this century")
        #expect(type.value("221126") == date("1926-11-22"), "tomorrow is a century ago")
        #expect(type.value("311225") == date("2025-12-31"))
        #expect(type.value("010127") == date("1927-01-01"))
        #expect(type.value("290200") == date("2000-02-29"))
        #expect(type.value("290201") == nil)
        // A date of birth must also be strictly in the past.
        var past = DateBounds()
        past.past = true
        let birth = FieldType.date(try #require(DatePattern(validating: "ddMMyy")), past)
        #expect(birth.convert("211126") == .failure(code: "constraint-error"))
        #expect(birth.value("201126") == date("2026-11-20"))
    }

    @Test("date bounds: past, not in the future, min and max")
    func dateBounds() throws {
        let pattern = try #require(DatePattern(validating: "dd/MM/yyyy"))
        var bounds = DateBounds()
        bounds.past = true
        #expect(FieldType.date(pattern, bounds).convert("21/11/2026") == .failure(code: "constraint-error"))
        #expect(FieldType.date(pattern, bounds).value("20/11/2026") == date("2026-11-20"))
        bounds = DateBounds()
        bounds.notFuture = true
        #expect(FieldType.date(pattern, bounds).value("21/11/2026") == date("2026-11-21"))
        #expect(FieldType.date(pattern, bounds).convert("22/11/2026") == .failure(code: "constraint-error"))
        bounds = DateBounds()
        bounds.minimum = LocalDate(iso: "1940-01-01")
        bounds.maximum = LocalDate(iso: "2000-12-31")
        #expect(FieldType.date(pattern, bounds).convert("31/12/1939") == .failure(code: "constraint-error"))
        #expect(FieldType.date(pattern, bounds).value("01/01/1940") == date("1940-01-01"))
        #expect(FieldType.date(pattern, bounds).convert("01/01/2001") == .failure(code: "constraint-error"))
        // The day of the check, not the machine's clock, decides.
        let later = CheckContext(today: LocalDate(iso: "2030-01-01")!)
        bounds = DateBounds()
        bounds.notFuture = true
        #expect(FieldType.date(pattern, bounds).value("22/11/2026", context: later) == date("2026-11-22"))
    }

    @Test("timestamps become yyyy-MM-ddTHH:mm:ssZ")
    func timestamps() throws {
        let type = FieldType.timestamp(try #require(DatePattern(validating: "dd/MM/yyyy HH:mm:ss")))
        #expect(type.value("20/11/2026 16:45:00") == .timestamp("2026-11-20T16:45:00Z"))
        #expect(type.value("01/01/2026 00:00:59") == .timestamp("2026-01-01T00:00:59Z"))
        #expect(type.convert("20/11/2026 25:00:00") == .failure(code: "type-error"))
        #expect(type.convert("20/11/2026 10:60:00") == .failure(code: "type-error"))
        #expect(type.convert("31/11/2026 10:00:00") == .failure(code: "type-error"))
        #expect(type.convert("20/11/2026") == .failure(code: "type-error"))
    }

    @Test("booleans: Yes/No, true/false, Y/N, 1/0 in any case; custom words")
    func booleans() {
        let standard = FieldType.boolean(.standard)
        for word in ["Yes", "YES", "yes", "true", "True", "TRUE", "Y", "y", "1"] { #expect(standard.value(word) == .boolean(true), "\(word)") }
        for word in ["No", "NO", "no", "false", "False", "FALSE", "N", "n", "0"] { #expect(standard.value(word) == .boolean(false), "\(word)") }
        for word in ["Maybe", "2", "T", "F", "yes please", "NULL"] { #expect(standard.convert(word) == .failure(code: "type-error"), "\(word)") }
        let withdrawal = FieldType.boolean(BooleanWords(trueWords: ["W"], falseWords: []))
        #expect(withdrawal.value("W") == .boolean(true))
        #expect(withdrawal.value("w") == .boolean(true))
        #expect(withdrawal.convert("Y") == .failure(code: "type-error"))
        #expect(withdrawal.convert("No") == .failure(code: "type-error"))
    }

    @Test("integers with bounds")
    func integers() {
        let type = FieldType.integer(minimum: 1, maximum: 12)
        #expect(type.value("9") == .integer(9))
        #expect(type.value("09") == .integer(9))
        #expect(type.value("+12") == .integer(12))
        #expect(type.convert("13") == .failure(code: "constraint-error"))
        #expect(type.convert("0") == .failure(code: "constraint-error"))
        #expect(type.convert("-1") == .failure(code: "constraint-error"))
        #expect(type.convert("1.5") == .failure(code: "type-error"))
        #expect(type.convert("nine") == .failure(code: "type-error"))
        #expect(type.convert("-") == .failure(code: "type-error"))
        let unbounded = FieldType.integer(minimum: nil, maximum: nil)
        #expect(unbounded.value("-42") == .integer(-42))
        #expect(unbounded.value("999999999999999999") == .integer(999_999_999_999_999_999))
        #expect(unbounded.convert("9999999999999999999") == .failure(code: "type-error"), "no overflow trap")
    }

    @Test("decimals, with implied decimal places for fixed-width amounts")
    func decimals() {
        let plain = FieldType.decimal(impliedDecimals: 0)
        #expect(plain.value("12.50") == .decimal("12.50"))
        #expect(plain.value("0012.50") == .decimal("12.50"))
        #expect(plain.value("-12.5") == .decimal("-12.5"))
        #expect(plain.value("+7") == .decimal("7"))
        #expect(plain.value("000") == .decimal("0"))
        #expect(plain.value(".5") == .decimal("0.5"))
        for bad in [".", "1.2.3", "1,5", "12a", "-", "1e5"] { #expect(plain.convert(bad) == .failure(code: "type-error"), "\(bad)") }
        let implied = FieldType.decimal(impliedDecimals: 2)
        #expect(implied.value("001250") == .decimal("12.50"))
        #expect(implied.value("1250") == .decimal("12.50"))
        #expect(implied.value("5") == .decimal("0.05"))
        #expect(implied.value("05") == .decimal("0.05"))
        #expect(implied.value("100") == .decimal("1.00"))
        #expect(implied.value("-1250") == .decimal("-12.50"))
        #expect(implied.value("12.5") == .decimal("12.5"), "a written point wins over implied places")
        let three = FieldType.decimal(impliedDecimals: 3)
        #expect(three.value("0000123456") == .decimal("123.456"))
    }

    @Test("text: length in characters, character sets, allowed values")
    func text() {
        var exact = TextConstraints()
        exact.minimumLength = 3
        exact.maximumLength = 3
        exact.charset = .digits
        #expect(FieldType.text(exact).value("330") == .text("330"))
        #expect(FieldType.text(exact).convert("12") == .failure(code: "constraint-error"))
        #expect(FieldType.text(exact).convert("1234") == .failure(code: "constraint-error"))
        #expect(FieldType.text(exact).convert("3A0") == .failure(code: "constraint-error"))
        var short = TextConstraints()
        short.maximumLength = 6
        #expect(FieldType.text(short).value("Tŵtest") == .text("Tŵtest"), "six characters, seven bytes")
        #expect(FieldType.text(short).convert("Tŵtests") == .failure(code: "constraint-error"))
        var allowed = TextConstraints()
        allowed.allowed = ["49", "71"]
        #expect(FieldType.text(allowed).value("49") == .text("49"))
        #expect(FieldType.text(allowed).convert("50") == .failure(code: "constraint-error"))
        var letters = TextConstraints()
        letters.charset = .letters
        #expect(FieldType.text(letters).value("Llŷnffug") == .text("Llŷnffug"))
        #expect(FieldType.text(letters).convert("Ap Ffug") == .failure(code: "constraint-error"))
    }

    @Test("lookups: exact or case-insensitive, empty meaning is no value, misses are reported by code")
    func lookups() {
        let exact = FieldType.lookup(LookupTable(name: "gender", entries: ["Male": "Male", "Female": "Female"], caseInsensitive: false))
        #expect(exact.value("Male") == .code("Male"))
        #expect(exact.convert("male") == .unmapped("male"))
        #expect(exact.convert("M") == .unmapped("M"))
        let folded = FieldType.lookup(LookupTable(name: "status", entries: ["In Progress": "InProgress", "Pass": "Passed"], caseInsensitive: true))
        #expect(folded.value("in progress") == .code("InProgress"))
        #expect(folded.value("PASS") == .code("Passed"))
        #expect(folded.convert("Deferred") == .unmapped("Deferred"))
        let country = FieldType.lookup(LookupTable(name: "country", entries: ["49": "GB-WLS", "67": ""], caseInsensitive: false))
        #expect(country.value("49") == .code("GB-WLS"))
        #expect(country.value("67") == .absent, "a known code that carries no value")
        #expect(country.convert("50") == .unmapped("50"))
        #expect(LookupTable(name: "country", entries: ["49": "GB-WLS", "67": ""], caseInsensitive: false).outputs == ["GB-WLS"])
    }
}
