import DQTModel
import Testing

@Suite struct HexTests {
    @Test func everyByteIsTwoLowercaseDigitsMostSignificantFirst() {
        let all = (0...255).map { UInt8($0) }
        let expected = all.map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
        }.joined()
        #expect(Hex.lowercase(all) == expected)
        #expect(Hex.lowercase([0x0F, 0xA0]) == "0fa0")
        #expect(Hex.lowercase([UInt8]()) == "")
    }
}
