#!/usr/bin/env perl
# The hypnotoad side of `make bench`: the same routes as the other servers.
#   GET /fixed          "hello world\n" (12 bytes)
#   GET /static/<name>  files under $BENCH_ROOT (Mojolicious' static dispatcher)
#   GET /proxy/<path>   proxied to http://$BENCH_UPSTREAM/proxy/<path> (Mojolicious' proxy helper)
#   WS  /ws/echo        every message sent back
# run.py sets the environment; `hypnotoad -f app.pl` keeps it in the foreground.
use Mojolicious::Lite -signatures;

my $listen   = $ENV{BENCH_LISTEN}   or die "BENCH_LISTEN is not set\n";
my $root     = $ENV{BENCH_ROOT}     or die "BENCH_ROOT is not set\n";
my $upstream = $ENV{BENCH_UPSTREAM} or die "BENCH_UPSTREAM is not set\n";

app->config(hypnotoad => {
  listen             => [$listen],
  workers            => 2,
  accepts            => 0,      # never retire a worker (as the other servers)
  requests           => 1000,   # keep-alive requests per connection (nginx's default)
  graceful_timeout   => 10,
  pid_file           => $ENV{BENCH_PID},
});
app->log->level('warn');
app->static->paths([$root]);

get '/fixed' => sub ($c) { $c->render(data => "hello world\n", format => 'txt') };

get '/proxy/*rest' => sub ($c) {
  $c->proxy->get_p("http://$upstream" . $c->req->url->path)->catch(sub ($err) {
    $c->render(text => "upstream failed: $err\n", status => 502);
  });
};

websocket '/ws/echo' => sub ($c) {
  $c->inactivity_timeout(300);
  $c->on(message => sub ($c, $msg) { $c->send($msg) });
};

app->start;
