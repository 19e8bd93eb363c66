/// A `proxy` route's handler: one upstream pool per route per worker.
func proxyHandler(route: Route, proxy: ProxyRoute, server: HTTPServer, websocketTimeout: Double) -> (HTTPExchange) -> Void {
    let pool = UpstreamPool(route: proxy)
    return { exchange in
        ProxyCall(exchange: exchange, route: route, proxy: proxy, pool: pool, server: server,
                  websocketTimeout: websocketTimeout).start()
    }
}
