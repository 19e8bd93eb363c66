/// One hex digit's value (either case), nil for anything else: for
/// percent-decoding, chunk sizes and the request guard alike.
@inline(__always) func hexDigitValue(_ c: UInt8) -> UInt8? {
    if c &- 0x30 < 10 { return c &- 0x30 }
    let l = c | 0x20
    if l &- 0x61 < 6 { return l &- 0x61 + 10 }
    return nil
}
