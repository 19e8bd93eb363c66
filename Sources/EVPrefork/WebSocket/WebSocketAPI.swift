/// What an application gives for a WebSocket endpoint: callbacks for the
/// socket's life, run on the worker's loop. Every callback is optional.
public struct WebSocketHandler {
    public var onOpen: ((WebSocket) -> Void)?
    public var onText: ((WebSocket, String) -> Void)?
    public var onBinary: ((WebSocket, [UInt8]) -> Void)?
    /// The peer's close code (nil when it sent none or the connection just
    /// dropped) and reason.
    public var onClose: ((WebSocket, UInt16?, String) -> Void)?
    /// Picks one of the subprotocols the client offered (Sec-WebSocket-Protocol), or nil.
    public var selectProtocol: (([String]) -> String?)?

    public init(onOpen: ((WebSocket) -> Void)? = nil, onText: ((WebSocket, String) -> Void)? = nil,
                onBinary: ((WebSocket, [UInt8]) -> Void)? = nil, onClose: ((WebSocket, UInt16?, String) -> Void)? = nil,
                selectProtocol: (([String]) -> String?)? = nil) {
        self.onOpen = onOpen; self.onText = onText; self.onBinary = onBinary
        self.onClose = onClose; self.selectProtocol = selectProtocol
    }

    /// The built-in `echo` mode: each message goes back as it came, sent
    /// from the input buffer without a String or array made for it.
    public static var echo: WebSocketHandler {
        var handler = WebSocketHandler(
            onText: { ws, text in ws.send(text: text) },
            onBinary: { ws, bytes in ws.send(binary: bytes) })
        handler.echoes = true
        return handler
    }

    /// Set by `echo` only: messages are echoed by the socket itself (the callbacks above are not called).
    var echoes = false
}

/// RFC 6455 close codes evprefork sends.
public enum WebSocketCloseCode {
    public static let normal: UInt16 = 1000
    public static let goingAway: UInt16 = 1001
    public static let protocolError: UInt16 = 1002
    public static let invalidData: UInt16 = 1007
    public static let messageTooBig: UInt16 = 1009
}
