// The cpprestsdk baseline of bench/run: an http_listener that answers every
// request 200 {"id":"x"}, on cpprestsdk's default thread pool like
// mimrest-server's cpprest transport.
//
//   mimrest-bench-hello-cpprest PORT
//
// Prints "listening on http://127.0.0.1:PORT" once it accepts connections;
// stops on SIGINT or SIGTERM.
#include <pthread.h>
#include <signal.h>

#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>

#include <cpprest/http_listener.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: mimrest-bench-hello-cpprest PORT\n";
    return 2;
  }
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  const std::string url = std::string("http://127.0.0.1:") + argv[1];
  try {
    web::http::experimental::listener::http_listener listener(url);
    listener.support([](const web::http::http_request& request) {
      web::http::http_response response(web::http::status_codes::OK);
      response.headers().add("Server", "hello");
      response.set_body(std::string(R"({"id":"x"})"), "application/json");
      request.reply(response);
    });
    listener.open().wait();
    std::cout << "listening on " << url << std::endl;
    int received = 0;
    while (sigwait(&stop_signals, &received) != 0) {
    }
    listener.close().wait();
  } catch (const std::exception& e) {
    std::cerr << "mimrest-bench-hello-cpprest: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
