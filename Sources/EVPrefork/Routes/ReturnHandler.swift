/// A `return` route: a fixed answer, as nginx's `return`.
func returnHandler(_ route: ReturnRoute) -> (HTTPExchange) -> Void {
    let body = Array((route.body ?? "").utf8)
    if let location = route.location {
        return { exchange in
            exchange.respond(status: route.status, headers: [("Location", location)])
        }
    }
    let headers = body.isEmpty ? [] : [("Content-Type", route.contentType)]
    return { exchange in
        exchange.respond(status: route.status, headers: headers, body: body)
    }
}
