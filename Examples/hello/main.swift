// An application embedding evprefork: its own handlers beside the config's
// routes, and the manager's lifecycle hooks. Run it like evprefork itself:
//   swift run -c release hello-app -c conf/server.conf
import EVPrefork
import Glibc

var app = Application()

app.handle("/hello") { exchange in
    exchange.respond(status: 200, body: "hello from worker \(getpid())\n")
}

// Answers after ?ms=N milliseconds (default 1000) without blocking the worker.
app.handle("/slow") { exchange in
    let ms = exchange.query.flatMap { q in q.split(separator: "=").last.flatMap { Int($0) } } ?? 1000
    exchange.after(Double(ms) / 1000) {
        exchange.respond(status: 200, body: "slept \(ms)ms\n")
    }
}

app.handle("/echo") { exchange in
    exchange.respond(status: 200, headers: [("Content-Type", "application/octet-stream")], body: exchange.body)
}

app.onSpawn = { pid in Console.out("hook: spawn \(pid)\n") }
app.onReap = { pid, status in Console.out("hook: reap \(pid) \(status)\n") }
app.onFinish = { graceful in Console.out("hook: finish graceful=\(graceful)\n") }

var configPath = "server.conf"
var daemonize = false
var args = CommandLine.arguments.dropFirst()
while let arg = args.popFirst() {
    switch arg {
    case "-c", "--config": configPath = args.popFirst() ?? configPath
    case "-d", "--daemon": daemonize = true
    default:
        Console.error("usage: hello-app [-c server.conf] [-d]\n")
        exit(2)
    }
}
exit(Server(application: app).run(configPath: configPath, daemonize: daemonize))
