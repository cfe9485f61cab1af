"""A test page in headless Chromium that reports back once: the report server
(127.0.0.1, GET /report?JSON) and the browser's run, shared by the tests that
play media in a real browser (merge_mp4_browser, serve_hls_browser).

    with ReportServer() as reports:
        write the page, with reports.url as where it sends its report
        reported, err = run_page(chromium, page, tmp_dir, reports)
    state = reports.reports[0]

The browser is stopped (terminate, then kill after 30 s) whether or not the
page reported within waiting.HANG_S; the server stops when the block ends."""
import http.server
import json
import subprocess
import tempfile
import threading
import urllib.parse

import waiting


class _Reports(http.server.BaseHTTPRequestHandler):
    """The page's report: GET /report?JSON."""

    def do_GET(self):
        path, _, query = self.path.partition('?')
        if path == '/report':
            self.server.reports.append(json.loads(urllib.parse.unquote(query)))
            self.server.reported.set()
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


class ReportServer:
    def __enter__(self):
        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Reports)
        self.server.reports, self.server.reported = [], threading.Event()
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = 'http://127.0.0.1:%d/report' % self.server.server_address[1]
        self.reports = self.server.reports
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        return False


def run_page(chromium, page, tmp_dir, reports):
    """Opens page (a file path) in headless Chromium with a fresh profile under
    tmp_dir and waits for its report; returns (reported, the tail of Chromium's
    stderr)."""
    browser = subprocess.Popen([chromium, '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
                                '--user-data-dir=' + tempfile.mkdtemp(dir=tmp_dir),
                                '--autoplay-policy=no-user-gesture-required',
                                '--allow-file-access-from-files', 'file://' + page],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        reported = reports.server.reported.wait(waiting.HANG_S)
    finally:
        browser.terminate()
        try:
            _, err = browser.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            browser.kill()
            _, err = browser.communicate()
    return reported, err[-2000:]
