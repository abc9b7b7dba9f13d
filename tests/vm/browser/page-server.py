#!/usr/bin/python3
"""Serve the browser test page and collect what it reports.

    page-server.py DIR REPORTS PORTFILE

Serves the files of DIR on 127.0.0.1 (a secure context, so getUserMedia is
allowed) at a free port, which it writes to PORTFILE once listening. Every
POST to /report is a JSON object; it is appended to REPORTS as one line.
Runs until killed.
"""
import http.server
import json
import os
import sys


def main():
    root, reports, portfile = sys.argv[1:4]

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=root, **kwargs)

        def do_POST(self):
            if self.path != "/report":
                self.send_error(404)
                return
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                line = json.dumps(json.loads(body), sort_keys=True)
            except ValueError as e:
                line = json.dumps({"phase": "error",
                                   "error": "unreadable report: %s" % e})
            with open(reports, "a") as f:
                f.write(line + "\n")
            self.send_response(204)
            self.end_headers()

        def log_message(self, fmt, *args):
            sys.stderr.write("page-server: " + fmt % args + "\n")

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, portfile)
    server.serve_forever()


if __name__ == "__main__":
    main()
