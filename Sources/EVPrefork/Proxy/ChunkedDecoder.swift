import CLibevent
import Glibc

/// Removes chunked framing from an upstream body as it arrives, moving the
/// data (without copying) to an output buffer.
struct ChunkedDecoder {
    private enum State { case size, data(Int), dataEnd, trailer }
    private var state = State.size
    private(set) var finished = false

    enum Failure: Error { case malformed }

    /// Consumes what it can of `input`; decoded bytes are appended to `output`.
    mutating func decode(_ input: OpaquePointer, into output: OpaquePointer) throws(Failure) {
        while !finished {
            switch state {
            case .size:
                guard let line = readLine(input) else { return }
                let digits = line.prefix { $0 != UInt8(ascii: ";") }
                guard !digits.isEmpty, digits.count <= 15 else { throw .malformed }
                var size = 0
                for b in digits {
                    guard let v = hexDigitValue(b).map(Int.init) else { throw .malformed }
                    size = size * 16 + v
                }
                state = size == 0 ? .trailer : .data(size)
            case .data(let remaining):
                let available = evbuffer_get_length(input)
                guard available > 0 else { return }
                let n = min(remaining, available)
                evbuffer_remove_buffer(input, output, n)
                state = n == remaining ? .dataEnd : .data(remaining - n)
            case .dataEnd:
                guard let line = readLine(input) else { return }
                guard line.isEmpty else { throw .malformed }
                state = .size
            case .trailer:
                guard let line = readLine(input) else { return }
                if line.isEmpty { finished = true }
            }
        }
    }

    /// One CRLF- (or LF-) terminated line without its ending; nil until complete.
    private func readLine(_ input: OpaquePointer) -> [UInt8]? {
        var length = 0
        guard let raw = evbuffer_readln(input, &length, EVBUFFER_EOL_CRLF) else {
            if evbuffer_get_length(input) > 4096 { return [0xFF] }  // an endless "line": malformed
            return nil
        }
        defer { free(raw) }
        return Array(UnsafeBufferPointer(start: UnsafeRawPointer(raw).assumingMemoryBound(to: UInt8.self), count: length))
    }
}
