// A chat on evprefork: every message a client sends goes to every socket of
// the same worker (workers share nothing; with workers = 1 that is everyone).
// Run:  swift run -c release chat-app -c chat.conf   with a route
//   [[route]]  path = "/chat"  type = "websocket"  mode = "chat"
// or rely on the /room path the app registers itself.
import EVPrefork
import Glibc

let chat = WebSocketHandler(
    onOpen: { ws in
        ws.userInfo["name"] = "guest\(WebSocket.all.count)"
        for peer in WebSocket.all where peer !== ws { peer.send(text: "* \(ws.userInfo["name"]!) joined") }
        ws.send(text: "* welcome, \(ws.userInfo["name"]!) (\(ws.subprotocol ?? "no subprotocol"))")
    },
    onText: { ws, text in
        if text.hasPrefix("/nick ") {
            ws.userInfo["name"] = String(text.dropFirst(6))
            return
        }
        for peer in WebSocket.all { peer.send(text: "\(ws.userInfo["name"] ?? "?"): \(text)") }
    },
    onBinary: { ws, _ in ws.close(code: 1003, reason: "text only") },
    onClose: { ws, _, _ in
        for peer in WebSocket.all where peer !== ws { peer.send(text: "* \(ws.userInfo["name"] ?? "?") left") }
    },
    selectProtocol: { offered in offered.contains("chat.v1") ? "chat.v1" : nil }
)

var app = Application()
app.webSocketMode("chat", chat)
app.webSocket("/room", chat)

var configPath = "server.conf"
var args = CommandLine.arguments.dropFirst()
while let arg = args.popFirst() {
    switch arg {
    case "-c", "--config": configPath = args.popFirst() ?? configPath
    default:
        Console.error("usage: chat-app [-c server.conf]\n")
        exit(2)
    }
}
exit(Server(application: app).run(configPath: configPath))
