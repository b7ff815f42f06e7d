"""Twisted's LineReceiver echo, the reference of bench/echo.

Listens on 127.0.0.1 (port 0: any free one), prints "port N" on stdout
once listening, and echoes every CRLF line with sendLine until SIGTERM.
"""
import sys

from twisted.internet import protocol, reactor
from twisted.protocols import basic


class LineEcho(basic.LineReceiver):
    delimiter = b"\r\n"

    def connectionMade(self):
        self.transport.setTcpNoDelay(True)

    def lineReceived(self, line):
        self.sendLine(line)


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    factory = protocol.Factory.forProtocol(LineEcho)
    listening = reactor.listenTCP(port, factory, interface="127.0.0.1")
    print("port %d" % listening.getHost().port, flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
