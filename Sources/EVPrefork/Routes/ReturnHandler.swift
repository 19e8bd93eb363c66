/// A `return` route: a fixed answer, as nginx's `return`. A redirect
/// carries the small HTML page error answers carry, as nginx's does.
func returnHandler(_ route: ReturnRoute) -> (HTTPExchange) -> Void {
    let answer = if let location = route.location {
        redirectAnswer(status: route.status, location: location)
    } else {
        fixedAnswer(route)
    }
    return { exchange in exchange.respond(answer) }
}

private func redirectAnswer(status: Int, location: String) -> PreparedAnswer {
    let answer = ErrorPage.answer(status: status, headers: [("Location", location)])
    return PreparedAnswer(status: status, headers: answer.headers, body: Array(answer.body.utf8))
}

private func fixedAnswer(_ route: ReturnRoute) -> PreparedAnswer {
    let body = Array((route.body ?? "").utf8)
    return PreparedAnswer(status: route.status, headers: body.isEmpty ? [] : [("Content-Type", route.contentType)], body: body)
}
